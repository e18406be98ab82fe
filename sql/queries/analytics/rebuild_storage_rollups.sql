-- Recompute storage_rollups from email_content, attachments and attachment_blobs for
-- one tenant (NULL: every tenant).
-- params: tenant_id uuid
INSERT INTO storage_rollups (tenant_id, day, messages, raw_bytes, stored_bytes,
    attachment_refs, attachment_bytes, blobs, blob_bytes, blob_stored_bytes)
SELECT tenant_id, day, sum(messages), sum(raw_bytes), sum(stored_bytes),
       sum(attachment_refs), sum(attachment_bytes), sum(blobs), sum(blob_bytes),
       sum(blob_stored_bytes)
FROM (
    SELECT tenant_id, pmail_tenant_day(tenant_id, created) AS day, 1 AS messages,
           raw_size_bytes AS raw_bytes, compressed_size_bytes AS stored_bytes,
           0 AS attachment_refs, 0 AS attachment_bytes, 0 AS blobs, 0 AS blob_bytes,
           0 AS blob_stored_bytes
    FROM email_content
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
    UNION ALL
    SELECT tenant_id, pmail_tenant_day(tenant_id, created), 0, 0, 0, 1, size_bytes, 0, 0, 0
    FROM attachments
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
    UNION ALL
    SELECT tenant_id, pmail_tenant_day(tenant_id, created), 0, 0, 0, 0, 0, 1, size_bytes,
           compressed_size_bytes
    FROM attachment_blobs
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
) AS parts
GROUP BY 1, 2;
