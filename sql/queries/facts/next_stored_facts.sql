-- The next messages with delivery facts stored before the reported-status backfill
-- began, after its cursor, in (tenant_id, storage_key) order (one row a message: its
-- first fact, through the primary key).
-- params: name text, batch integer
SELECT f.tenant_id, f.storage_key
FROM delivery_facts AS f
JOIN email_messages AS m ON m.tenant_id = f.tenant_id AND m.storage_key = f.storage_key
CROSS JOIN pmail_backfills AS b
WHERE b.name = %(name)s
  AND (b.after_tenant IS NULL
       OR (f.tenant_id, f.storage_key) > (b.after_tenant, b.after_key))
  AND f.recipient_index = 0
  AND m.created < b.started
ORDER BY f.tenant_id, f.storage_key
LIMIT %(batch)s;
