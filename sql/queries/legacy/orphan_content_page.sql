-- The next page of content rows that no legacy message row refers to, in key order.
-- params: after text, limit int
SELECT c.storage_key, c.tenant_id, c.content_text, c.content_html, c.headers::text AS headers,
       c.raw_size_bytes, c.created, c.expires, c.retention_days
FROM {content} AS c
WHERE c.storage_key > %(after)s
  AND NOT EXISTS (SELECT 1 FROM {refs} AS r WHERE r.storage_key = c.storage_key)
ORDER BY c.storage_key
LIMIT %(limit)s;
