-- Record one applied migration (same transaction as the migration itself).
-- params: version int, name text, checksum text
INSERT INTO pmail_schema_migrations (version, name, checksum)
VALUES (%(version)s, %(name)s, %(checksum)s);
