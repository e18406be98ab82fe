-- Messages whose content row is gone (purged ones keep only their row on purpose).
-- params: tenant_id uuid (NULL: every tenant)
SELECT m.tenant_id, m.storage_key AS item
FROM email_messages AS m
WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
  AND m.purged_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM email_content AS c
                  WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key)
