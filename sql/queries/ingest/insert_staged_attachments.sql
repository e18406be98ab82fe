-- Move staged attachment rows of the newly inserted messages in.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO attachments (
    tenant_id, parent_storage_key, part_index, filename, mime_type, size_bytes,
    storage_disposition, content_id, sha256)
SELECT tenant_id, parent_storage_key, part_index, filename, mime_type, size_bytes,
       storage_disposition, content_id, sha256
FROM pmail_stage_attachments
WHERE parent_storage_key IN (SELECT storage_key FROM pmail_stage_new);
