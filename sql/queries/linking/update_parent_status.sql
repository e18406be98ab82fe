-- Move outbound parents' status up the ladder (sent < auto_replied < replied < bounced
-- < complained) according to the children just linked to them.
-- params: tenant_id uuid, children text[]
WITH outcome AS (
    SELECT c.parent_storage_key AS parent_key,
           (array_agg(s.status ORDER BY pmail_status_rank(s.status) DESC))[1] AS status
    FROM email_messages AS c
    CROSS JOIN LATERAL (SELECT CASE
        WHEN c.message_type = 'bounce' THEN 'bounced'
        WHEN c.message_type = 'complaint' THEN 'complained'
        WHEN c.message_type = 'auto_reply' THEN 'auto_replied'
        WHEN c.message_type = 'email' THEN 'replied'
    END AS status) AS s
    WHERE c.tenant_id = %(tenant_id)s AND c.storage_key = ANY(%(children)s)
      AND c.parent_storage_key IS NOT NULL AND s.status IS NOT NULL
    GROUP BY c.parent_storage_key
)
UPDATE email_messages AS p
SET status = o.status, updated = now()
FROM outcome AS o
WHERE p.tenant_id = %(tenant_id)s AND p.storage_key = o.parent_key
  AND p.direction = 'outbound'
  AND pmail_status_rank(o.status) > pmail_status_rank(p.status);
