-- A message's attachments in part order.
-- params: tenant_id uuid, storage_key text
SELECT part_index, filename, mime_type, size_bytes, storage_disposition, content_id,
       encode(sha256, 'hex') AS sha256
FROM attachments
WHERE tenant_id = %(tenant_id)s AND parent_storage_key = %(storage_key)s
ORDER BY part_index;
