-- Messages linked to a parent that no tenant stores.
-- params: tenant_id uuid (NULL: every tenant)
SELECT m.tenant_id, m.storage_key || ' -> ' || m.parent_storage_key AS item
FROM email_messages AS m
WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
  AND m.parent_storage_key IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM email_messages AS p
                  WHERE p.storage_key = m.parent_storage_key)
