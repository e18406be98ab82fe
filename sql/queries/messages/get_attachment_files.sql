-- The files of some messages in part order, for messages rebuilt without a raw form.
-- params: tenant_id uuid, keys text[]
SELECT a.parent_storage_key, a.part_index, a.filename, a.mime_type,
       a.storage_disposition, a.sha256
FROM attachments AS a
WHERE a.tenant_id = %(tenant_id)s AND a.parent_storage_key = ANY(%(keys)s)
ORDER BY a.parent_storage_key, a.part_index;
