-- The full-text document matches the query (GIN on email_content.search_vector).
AND m.storage_key IN (
    SELECT c.storage_key FROM email_content AS c
    WHERE c.tenant_id = %(tenant_id)s
      AND c.search_vector @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                                %(subjects)s, %(filenames)s))
