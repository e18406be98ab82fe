-- How long this transaction waits for a lock before it gives up (LockNotAvailable):
-- adding a hold, for the tenant's guarded writes in flight (each holds a share lock
-- on the tenant's hold epoch until it commits, 0030); a purge of every tenant, for
-- one tenant's write lock or rows, before it skips that tenant.
-- params: timeout text (a lock_timeout value, e.g. '30000ms')
SELECT set_config('lock_timeout', %(timeout)s, true);
