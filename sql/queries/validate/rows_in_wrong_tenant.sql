-- Rows whose message exists, but under another tenant: content, attachments, delivery
-- facts and IMAP memberships that moved (or were written) across tenants.
-- params: tenant_id uuid (NULL: every tenant)
SELECT x.tenant_id, x.tbl || ' ' || x.storage_key AS item
FROM (
    SELECT 'email_content' AS tbl, tenant_id, storage_key FROM email_content
    UNION ALL
    SELECT 'attachments', tenant_id, parent_storage_key FROM attachments
    UNION ALL
    SELECT 'delivery_facts', tenant_id, storage_key FROM delivery_facts
    UNION ALL
    SELECT 'imap_messages', tenant_id, storage_key FROM imap_messages
) AS x
WHERE (%(tenant_id)s::uuid IS NULL OR x.tenant_id = %(tenant_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM email_messages AS m
                  WHERE m.tenant_id = x.tenant_id AND m.storage_key = x.storage_key)
  AND EXISTS (SELECT 1 FROM email_messages AS m
              WHERE m.tenant_id <> x.tenant_id AND m.storage_key = x.storage_key)
