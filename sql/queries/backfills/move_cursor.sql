-- Move a backfill's cursor past the last (tenant, key) of a committed batch.
-- params: name text, after_tenant uuid, after_key text
UPDATE pmail_backfills
SET after_tenant = %(after_tenant)s, after_key = %(after_key)s
WHERE name = %(name)s;
