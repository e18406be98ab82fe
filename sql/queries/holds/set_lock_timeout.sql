-- How long adding a hold waits for the tenant's guarded writes in flight (each holds a
-- share lock on the tenant's hold epoch until it commits, 0030) before it gives up
-- and names them; for this transaction only.
-- params: timeout text (a lock_timeout value, e.g. '30000ms')
SELECT set_config('lock_timeout', %(timeout)s, true);
