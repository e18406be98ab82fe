-- Content rows whose SQL columns disagree with their tenant's setting: empty while it
-- is on (and a raw form exists to read them from), filled while it is off (held mail
-- keeps what it has). A tenant whose backfill is still running is reported too: its
-- rows are what the backfill has not reached yet.
-- params: tenant_id uuid (NULL: every tenant)
SELECT c.tenant_id,
       c.storage_key || CASE WHEN t.sql_bodies THEN ' has no headers column'
                             ELSE ' has html/headers while --sql-bodies is off' END AS item
FROM email_content AS c
JOIN tenants AS t ON t.tenant_id = c.tenant_id
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND CASE WHEN t.sql_bodies THEN c.headers IS NULL AND c.raw_form <> 'none'
           ELSE (c.headers IS NOT NULL OR c.content_html IS NOT NULL)
                AND NOT c.legal_hold AND NOT pmail_message_held(c.tenant_id, c.storage_key)
      END
