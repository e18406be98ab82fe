-- Messages whose full-text document disagrees with their tenant's setting: missing
-- while search is on, present while it is off; or a search_documents row whose date,
-- type or direction is not its message's (repair builds, drops or rebuilds them). A
-- document not yet moved out of email_content (migration 0020's backfill) counts.
-- params: tenant_id uuid (NULL: every tenant)
SELECT c.tenant_id,
       c.storage_key || CASE
           WHEN t.search_index AND d.storage_key IS NULL AND c.search_vector IS NULL
               THEN ' has no full-text document'
           WHEN NOT t.search_index THEN ' has a document while search is off'
           ELSE ' has a full-text document whose date, type or direction is not its '
                'message''s' END AS item
FROM email_content AS c
JOIN tenants AS t ON t.tenant_id = c.tenant_id
JOIN email_messages AS m ON m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
LEFT JOIN search_documents AS d
    ON d.tenant_id = c.tenant_id AND d.storage_key = c.storage_key
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND CASE WHEN t.search_index
           THEN (d.storage_key IS NULL AND c.search_vector IS NULL)
                OR d.date <> coalesce(m.sent_at, m.created)
                OR d.message_type <> m.message_type OR d.direction <> m.direction
           ELSE d.storage_key IS NOT NULL OR c.search_vector IS NOT NULL END
