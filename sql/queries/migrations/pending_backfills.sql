-- The backfills a migration left to run (none once they are done).
-- params: none
SELECT name FROM pmail_backfills ORDER BY name;
