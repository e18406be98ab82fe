-- How many rows --deep will read: content rows and stored files (capped by a sample).
-- params: tenant_id uuid (NULL: every tenant), sample integer (NULL: all)
SELECT least(count(*), coalesce(%(sample)s::bigint, count(*))) AS messages,
       (SELECT least(count(*), coalesce(%(sample)s::bigint, count(*)))
        FROM attachment_blobs
        WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid) AS files
FROM email_content
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
