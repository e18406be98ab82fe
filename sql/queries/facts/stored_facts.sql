-- The stored facts of some messages: what the backfill compares a new reading with.
-- params: tenant_id uuid, keys text[]
SELECT storage_key, recipient_index, recipient, status
FROM delivery_facts
WHERE tenant_id = %(tenant_id)s AND storage_key = ANY (%(keys)s)
  AND reported_status IS NULL
ORDER BY storage_key, recipient_index;
