-- Move a backfill's cursor past (tenant, key), or end it (NULL tenant).
-- params: name text, tenant_id uuid, storage_key text
WITH moved AS (
    UPDATE pmail_backfills
    SET after_tenant = %(tenant_id)s, after_key = %(storage_key)s
    WHERE name = %(name)s AND %(tenant_id)s::uuid IS NOT NULL
    RETURNING 1
)
DELETE FROM pmail_backfills
WHERE name = %(name)s AND %(tenant_id)s::uuid IS NULL;
