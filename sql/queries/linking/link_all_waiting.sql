-- Link every inbound message of the tenant still waiting for a parent that is stored
-- now: the whole-tenant form of link_waiting, for bulk loads that link once at the
-- end instead of after each batch. Returns the links made.
-- params: tenant_id uuid
WITH children AS (
    SELECT m.storage_key, m.link_keys
    FROM email_messages AS m
    WHERE m.tenant_id = %(tenant_id)s AND m.parent_storage_key IS NULL
      AND m.link_keys IS NOT NULL AND m.direction = 'inbound'
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
