-- The renames the migration made, oldest first.
-- params: none
SELECT schema_name, from_name, to_name, reason, renamed_at
FROM legacy_migration_renames
ORDER BY renamed_at, from_name;
