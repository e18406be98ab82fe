-- Remember a rename the migration made, so its undo is known.
-- params: schema_name text, from_name text, to_name text, reason text
INSERT INTO legacy_migration_renames (schema_name, from_name, to_name, reason)
VALUES (%(schema_name)s, %(from_name)s, %(to_name)s, %(reason)s)
ON CONFLICT DO NOTHING;
