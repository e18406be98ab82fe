-- The original plan's totals: messages, content rows, messages with content, messages
-- without (purged ones apart), attachment rows and distinct stored files; and the states
-- the legacy migration documents: messages migrated without content because the legacy
-- row never had any, legacy files without a message kept in migration_anomalies.
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
     WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AS files,
    (SELECT count(*) FROM email_messages AS m
     WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
       AND m.source = 'legacy:content_inbox_message_refs' AND m.purged_at IS NULL
       AND NOT EXISTS (SELECT 1 FROM email_content AS c
                       WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key)
       AND EXISTS (SELECT 1 FROM migration_anomalies AS a
                   WHERE a.kind = 'ref_without_content'
                     AND a.legacy_table = 'content_inbox_message_refs'
                     AND a.legacy_key = m.storage_key AND a.tenant_id = m.tenant_id))
        AS legacy_without_content,
    (SELECT count(*) FROM migration_anomalies
     WHERE kind = 'orphan_attachment'
       AND (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid))
        AS legacy_files_aside
