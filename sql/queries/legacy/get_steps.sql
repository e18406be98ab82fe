-- Where each migration step stands.
-- params: none
SELECT step, last_key, rows_done, started, updated, finished
FROM legacy_migration_steps
ORDER BY started, step;
