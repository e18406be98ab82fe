-- Record why stored messages ask to be unsubscribed (the suppression triggers follow).
-- params: tenant_id uuid, keys text[], reasons text[]
UPDATE email_messages AS m
SET unsubscribe = u.reason, updated = now()
FROM unnest(%(keys)s::text[], %(reasons)s::text[]) AS u (storage_key, reason)
WHERE m.tenant_id = %(tenant_id)s AND m.storage_key = u.storage_key
  AND m.unsubscribe IS NULL;
