-- Every content row no legacy message row refers to, as orphan_content_page reads it,
-- bodies left out (for the dry run's prediction).
-- params: none
SELECT c.storage_key, c.tenant_id, NULL::text AS content_text, NULL::text AS content_html,
       c.headers::text AS headers, c.raw_size_bytes, c.created, c.expires, c.retention_days
FROM {content} AS c
WHERE NOT EXISTS (SELECT 1 FROM {refs} AS r WHERE r.storage_key = c.storage_key);
