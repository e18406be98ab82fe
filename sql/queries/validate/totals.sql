-- The original plan's totals: messages, content rows, messages with content, messages
-- without (purged ones apart), attachment rows and distinct stored files.
-- params: tenant_id uuid (NULL: every tenant)
SELECT
    (SELECT count(*) FROM email_messages
     WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AS messages,
    (SELECT count(*) FROM email_content
     WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AS content_rows,
    (SELECT count(*) FROM email_messages AS m
     WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
       AND EXISTS (SELECT 1 FROM email_content AS c
                   WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key))
        AS messages_with_content,
    (SELECT count(*) FROM email_messages
     WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
       AND purged_at IS NOT NULL) AS purged,
    (SELECT count(*) FROM attachments
     WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AS attachments,
    (SELECT count(*) FROM attachment_blobs
     WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AS files
