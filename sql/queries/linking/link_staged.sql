-- Link the inbound messages of the staged batch before they are inserted (no later
-- UPDATE, so no dead row versions): each takes its best-ranked candidate that resolves,
-- among stored messages and the batch itself (outbound parents first), and inherits
-- the parent's campaign, lead and (when it has none) account.
-- params: tenant_id uuid (returns the linked keys)
WITH candidates AS (
    SELECT s.storage_key, k.id_hash, k.ord
    FROM pmail_stage_messages AS s
    CROSS JOIN LATERAL unnest(s.link_keys) WITH ORDINALITY AS k (id_hash, ord)
    WHERE s.direction = 'inbound' AND s.link_keys IS NOT NULL
),
parents AS (
    SELECT p.storage_key, p.message_id, p.direction, p.campaign_id, p.lead_id,
           p.email_account_id, p.created
    FROM email_messages AS p
    WHERE p.tenant_id = %(tenant_id)s
      AND md5(p.message_id) = ANY (ARRAY(SELECT id_hash FROM candidates))
    UNION ALL
    SELECT p.storage_key, p.message_id, p.direction, p.campaign_id, p.lead_id,
           p.email_account_id, now()
    FROM pmail_stage_messages AS p
    WHERE p.message_id IS NOT NULL
      AND md5(p.message_id) = ANY (ARRAY(SELECT id_hash FROM candidates))
),
resolved AS (
    SELECT DISTINCT ON (c.storage_key)
           c.storage_key, p.storage_key AS parent_key, p.message_id AS parent_id,
           p.campaign_id, p.lead_id, p.email_account_id
    FROM candidates AS c
    JOIN parents AS p ON md5(p.message_id) = c.id_hash AND p.storage_key <> c.storage_key
    ORDER BY c.storage_key, c.ord, (p.direction = 'outbound') DESC, p.created, p.storage_key
)
UPDATE pmail_stage_messages AS s
SET parent_storage_key = r.parent_key,
    parent_message_id = r.parent_id,
    campaign_id = coalesce(s.campaign_id, r.campaign_id),
    lead_id = coalesce(s.lead_id, r.lead_id),
    email_account_id = coalesce(s.email_account_id, r.email_account_id)
FROM resolved AS r
WHERE s.storage_key = r.storage_key
RETURNING s.storage_key;
