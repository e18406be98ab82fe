-- Whether the database has pmail's migration record at all.
-- params: none
SELECT to_regclass('pmail_schema_migrations') IS NOT NULL;
