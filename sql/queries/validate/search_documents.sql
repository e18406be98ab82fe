-- Content rows whose full-text document disagrees with their tenant's setting:
-- missing while search is on, present while it is off (repair builds or drops them).
-- params: tenant_id uuid (NULL: every tenant)
SELECT c.tenant_id,
       c.storage_key || CASE WHEN t.search_index THEN ' has no full-text document'
                             ELSE ' has a document while search is off' END AS item
FROM email_content AS c
JOIN tenants AS t ON t.tenant_id = c.tenant_id
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND (c.search_vector IS NULL) = t.search_index
