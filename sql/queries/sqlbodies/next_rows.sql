-- The next content rows of one tenant after the cursor, in key order, with what the
-- backfill does to each: 'fill' (the setting is on and the row has no headers yet,
-- and a raw form to read them from), 'clear' (off, filled, not under legal hold), or
-- 'keep'.
-- params: tenant_id uuid, after_key text, batch int
SELECT c.storage_key,
       CASE
           WHEN t.sql_bodies AND c.headers IS NULL AND c.raw_form <> 'none' THEN 'fill'
           WHEN NOT t.sql_bodies AND (c.headers IS NOT NULL OR c.content_html IS NOT NULL)
                AND NOT c.legal_hold AND NOT pmail_message_held(c.tenant_id, c.storage_key)
               THEN 'clear'
           ELSE 'keep'
       END AS action
FROM email_content AS c
JOIN tenants AS t ON t.tenant_id = c.tenant_id
WHERE c.tenant_id = %(tenant_id)s AND c.storage_key > %(after_key)s
ORDER BY c.storage_key
LIMIT %(batch)s;
