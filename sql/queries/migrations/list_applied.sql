-- The applied migrations with the checksum each had when it ran.
-- params: none
SELECT version, checksum FROM pmail_schema_migrations ORDER BY version;
