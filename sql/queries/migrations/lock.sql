-- Hold pmail's migration lock for the session (one migration run at a time).
-- params: key bigint
SELECT pg_advisory_lock(%(key)s);
