-- Purge some of the tenant's messages: mark the message rows (the tombstones
-- analytics keep counting), delete their content (attachment rows go with it); returns
-- the attachment files they referenced, for collection. The content goes through
-- pmail_delete_content (a tenant login may not DELETE: migration 0028).
-- params: tenant_id uuid, keys text[]
WITH marked AS (
    UPDATE email_messages SET purged_at = now(), updated = now()
    WHERE tenant_id = %(tenant_id)s AND storage_key = ANY(%(keys)s) AND purged_at IS NULL
    RETURNING storage_key
),
files AS (
    SELECT DISTINCT a.sha256 FROM attachments AS a
    WHERE a.tenant_id = %(tenant_id)s AND a.parent_storage_key = ANY(%(keys)s)
),
gone AS (
    SELECT g.compressed_size_bytes
    FROM pmail_delete_content(%(tenant_id)s::uuid, %(keys)s::text[])
         AS g (compressed_size_bytes)
)
SELECT (SELECT count(*) FROM gone) AS messages,
       (SELECT coalesce(sum(compressed_size_bytes), 0) FROM gone)::bigint AS stored_bytes,
       (SELECT count(*) FROM marked) AS marked,
       (SELECT coalesce(array_agg(sha256), '{}') FROM files) AS files;
