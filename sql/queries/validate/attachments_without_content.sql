-- Attachment rows whose message has no content row in their tenant (rows whose
-- message lives under another tenant are rows_in_wrong_tenant).
-- params: tenant_id uuid (NULL: every tenant)
SELECT a.tenant_id, a.parent_storage_key || ' part ' || a.part_index AS item
FROM attachments AS a
WHERE (%(tenant_id)s::uuid IS NULL OR a.tenant_id = %(tenant_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM email_content AS c
                  WHERE c.tenant_id = a.tenant_id AND c.storage_key = a.parent_storage_key)
  AND (EXISTS (SELECT 1 FROM email_messages AS m
               WHERE m.tenant_id = a.tenant_id AND m.storage_key = a.parent_storage_key)
       OR NOT EXISTS (SELECT 1 FROM email_messages AS m
                      WHERE m.storage_key = a.parent_storage_key))
