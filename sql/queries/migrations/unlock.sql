-- Release pmail's migration lock.
-- params: key bigint
SELECT pg_advisory_unlock(%(key)s);
