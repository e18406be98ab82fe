-- Take pmail's migration lock for the session if it is free: true when taken.
-- params: key bigint
SELECT pg_try_advisory_lock(%(key)s);
