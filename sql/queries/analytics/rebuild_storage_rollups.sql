-- Recompute storage_rollups from email_content, attachments and attachment_blobs for
-- one tenant (NULL: every tenant).
-- params: tenant_id uuid
INSERT INTO storage_rollups (tenant_id, day, messages, raw_bytes, stored_bytes,
    attachment_refs, attachment_bytes, blobs, blob_bytes, blob_stored_bytes)
SELECT tenant_id, day, messages, raw_bytes, stored_bytes, attachment_refs,
       attachment_bytes, blobs, blob_bytes, blob_stored_bytes
FROM storage_rollups_expected
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
