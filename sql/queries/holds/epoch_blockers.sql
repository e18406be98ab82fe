-- The other sessions of this database whose transactions have been open longer than
-- adding a hold waited: those that may hold a share lock on the tenant's hold epoch
-- (row locks are not listed in pg_locks). pid, role, application, transaction start.
-- params: seconds double precision
SELECT a.pid, a.usename, a.application_name, a.xact_start
FROM pg_stat_activity AS a
WHERE a.datname = current_database()
  AND a.pid <> pg_backend_pid()
  AND a.xact_start < now() - make_interval(secs => %(seconds)s)
ORDER BY a.xact_start;
