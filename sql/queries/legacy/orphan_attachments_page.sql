-- The next page of legacy attachments whose message has no content row (and so no
-- place among pmail's attachments), in id order.
-- params: after bigint, limit int
SELECT a.id, a.parent_storage_key, a.filename, a.mime_type, a.size_bytes,
       coalesce(a.content, ''::bytea) AS content,
       (SELECT r.tenant_id FROM {refs} AS r WHERE r.storage_key = a.parent_storage_key)
           AS tenant_id
FROM {attachments} AS a
WHERE a.id > %(after)s
  AND NOT EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = a.parent_storage_key)
ORDER BY a.id
LIMIT %(limit)s;
