-- Fill in the DSN Status field of stored facts that have none (never overwrites).
-- params: tenant_id uuid, keys text[], indexes integer[], statuses text[]
UPDATE delivery_facts AS f
SET reported_status = v.status
FROM unnest(%(keys)s::text[], %(indexes)s::integer[], %(statuses)s::text[])
     AS v (storage_key, recipient_index, status)
WHERE f.tenant_id = %(tenant_id)s
  AND f.storage_key = v.storage_key
  AND f.recipient_index = v.recipient_index
  AND f.reported_status IS NULL;
