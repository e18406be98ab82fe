-- Content rows with no message row in their tenant (nor in any other: that is
-- rows_in_wrong_tenant).
-- params: tenant_id uuid (NULL: every tenant)
SELECT c.tenant_id, c.storage_key AS item
FROM email_content AS c
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM email_messages AS m WHERE m.storage_key = c.storage_key)
