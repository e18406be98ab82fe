-- The sessions holding pmail's migration lock in this database, to name them while
-- init-db waits. A bigint advisory key is classid (its high 32 bits), objid (its low
-- 32 bits) and objsubid 1 in pg_locks; pg_stat_activity shows every session's pid,
-- role and application to any role (what it runs only to its own role and
-- pg_read_all_stats).
-- params: key bigint
SELECT l.pid, a.usename, a.application_name, a.backend_start
FROM pg_locks l
LEFT JOIN pg_stat_activity a ON a.pid = l.pid
WHERE l.locktype = 'advisory'
  AND l.granted
  AND l.objsubid = 1
  AND l.classid::bigint = (%(key)s::bigint >> 32)
  AND l.objid::bigint = (%(key)s::bigint & 4294967295)
  AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
ORDER BY l.pid;
