-- The full-text document matches the query (GIN on search_documents.document; while
-- stored documents are still being moved there, `moving`, also GIN on
-- email_content.search_vector: docs/search.md).
AND m.storage_key IN (
    SELECT d.storage_key FROM search_documents AS d
    WHERE d.tenant_id = %(tenant_id)s
      AND d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                           %(subjects)s, %(filenames)s)
    UNION ALL
    SELECT c.storage_key FROM email_content AS c
    WHERE %(moving)s AND c.tenant_id = %(tenant_id)s
      AND c.search_vector @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                                %(subjects)s, %(filenames)s))
