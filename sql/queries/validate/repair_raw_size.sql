-- Set a content row's raw size (and its message's) to the size of its bytes, which
-- --deep rebuilt and found matching their sha256.
-- params: tenant_id uuid, storage_key text, raw_size_bytes bigint
WITH content AS (
    UPDATE email_content SET raw_size_bytes = %(raw_size_bytes)s
    WHERE tenant_id = %(tenant_id)s AND storage_key = %(storage_key)s
    RETURNING 1
)
UPDATE email_messages SET raw_size_bytes = %(raw_size_bytes)s
WHERE tenant_id = %(tenant_id)s AND storage_key = %(storage_key)s
  AND EXISTS (SELECT 1 FROM content);
