-- The next stored messages whose extra search text the backfill `name` has to read:
-- content rows stored before it started, after its cursor, in (tenant_id, storage_key)
-- order.
-- params: name text, batch integer
SELECT c.tenant_id, c.storage_key
FROM email_content AS c, pmail_backfills AS b
WHERE b.name = %(name)s
  AND (b.after_tenant IS NULL
       OR (c.tenant_id, c.storage_key) > (b.after_tenant, b.after_key))
  AND c.created < b.started
ORDER BY c.tenant_id, c.storage_key
LIMIT %(batch)s;
