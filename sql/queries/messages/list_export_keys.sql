-- Storage keys of the messages to export, oldest first.
-- params: tenant_id uuid, since timestamptz (nullable), keys text[] (nullable)
SELECT m.storage_key
FROM email_messages AS m
WHERE m.tenant_id = %(tenant_id)s
  AND (%(since)s::timestamptz IS NULL OR coalesce(m.sent_at, m.created) >= %(since)s::timestamptz)
  AND (%(keys)s::text[] IS NULL OR m.storage_key = ANY(%(keys)s::text[]))
ORDER BY m.created, m.storage_key;
