-- Content compressed with a zstd dictionary the tenant does not have.
-- params: tenant_id uuid (NULL: every tenant)
SELECT c.tenant_id, c.storage_key || ' dictionary ' || c.dict_id AS item
FROM email_content AS c
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND c.dict_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM compression_dicts AS d
                  WHERE d.tenant_id = c.tenant_id AND d.dict_id = c.dict_id)
