-- Attachments by type: parts, distinct files, their bytes, and what storing each file
-- once per tenant saved, for parts stored in the window.
-- params: tenant_id uuid (NULL: every tenant), since timestamptz, until timestamptz
WITH parts AS (
    SELECT a.tenant_id, coalesce(a.mime_type, 'unknown') AS mime_type, a.sha256,
           a.size_bytes
    FROM attachments AS a
    WHERE (%(tenant_id)s::uuid IS NULL OR a.tenant_id = %(tenant_id)s::uuid)
      AND a.created >= %(since)s AND a.created < %(until)s
),
files AS (
    SELECT DISTINCT p.tenant_id, p.mime_type, p.sha256, b.size_bytes,
           b.compressed_size_bytes
    FROM parts AS p
    JOIN attachment_blobs AS b ON b.tenant_id = p.tenant_id AND b.sha256 = p.sha256
)
SELECT p.mime_type,
       count(*) AS attachments,
       (SELECT count(*) FROM files AS f WHERE f.mime_type = p.mime_type) AS distinct_files,
       sum(p.size_bytes)::bigint AS bytes,
       (SELECT coalesce(sum(f.compressed_size_bytes), 0) FROM files AS f
        WHERE f.mime_type = p.mime_type)::bigint AS stored_bytes,
       (sum(p.size_bytes) - (SELECT coalesce(sum(f.size_bytes), 0) FROM files AS f
                             WHERE f.mime_type = p.mime_type))::bigint AS dedup_saved_bytes
FROM parts AS p
GROUP BY p.mime_type
ORDER BY bytes DESC, p.mime_type;
