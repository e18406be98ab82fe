-- The next ordinary inbound messages not known to ask for an unsubscribe, after the
-- backfill's cursor, in (tenant_id, storage_key) order, stored before it started.
-- params: name text, batch integer
SELECT m.tenant_id, m.storage_key
FROM email_messages AS m, pmail_backfills AS b
WHERE b.name = %(name)s
  AND (b.after_tenant IS NULL
       OR (m.tenant_id, m.storage_key) > (b.after_tenant, b.after_key))
  AND m.direction = 'inbound' AND m.message_type = 'email'
  AND m.unsubscribe IS NULL AND m.created < b.started
ORDER BY m.tenant_id, m.storage_key
LIMIT %(batch)s;
