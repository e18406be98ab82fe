-- Link stored inbound messages that were waiting for a parent which arrived in this
-- batch (mail that came before the message it answers). Returns the links made.
-- params: tenant_id uuid, keys text[]
WITH new_ids AS (
    SELECT md5(message_id) AS id_hash
    FROM email_messages
    WHERE tenant_id = %(tenant_id)s AND storage_key = ANY(%(keys)s) AND message_id IS NOT NULL
),
children AS (
    SELECT m.storage_key, m.link_keys
    FROM email_messages AS m
    WHERE m.link_keys && ARRAY(SELECT id_hash FROM new_ids)
      AND m.parent_storage_key IS NULL AND m.link_keys IS NOT NULL
      AND m.tenant_id = %(tenant_id)s AND m.direction = 'inbound'
      AND NOT m.storage_key = ANY(%(keys)s)
),
candidates AS (
    SELECT c.storage_key, k.id_hash, k.ord
    FROM children AS c
    CROSS JOIN LATERAL unnest(c.link_keys) WITH ORDINALITY AS k (id_hash, ord)
),
resolved AS (
    SELECT DISTINCT ON (c.storage_key)
           c.storage_key, p.storage_key AS parent_key, p.message_id AS parent_id,
           p.campaign_id, p.lead_id, p.email_account_id
    FROM candidates AS c
    JOIN email_messages AS p
      ON p.tenant_id = %(tenant_id)s AND md5(p.message_id) = c.id_hash
     AND p.storage_key <> c.storage_key
    ORDER BY c.storage_key, c.ord, (p.direction = 'outbound') DESC, p.created, p.storage_key
)
UPDATE email_messages AS m
SET parent_storage_key = r.parent_key,
    parent_message_id = r.parent_id,
    campaign_id = coalesce(m.campaign_id, r.campaign_id),
    lead_id = coalesce(m.lead_id, r.lead_id),
    email_account_id = coalesce(m.email_account_id, r.email_account_id),
    updated = now()
FROM resolved AS r
WHERE m.tenant_id = %(tenant_id)s AND m.storage_key = r.storage_key
RETURNING m.storage_key, r.parent_key;
