-- Fill the SQL columns of some of a tenant's messages (only where still empty).
-- params: tenant_id uuid, keys text[], html text[], headers text[] (JSON texts)
UPDATE email_content AS c
SET content_html = v.html, headers = v.headers::jsonb
FROM unnest(%(keys)s::text[], %(html)s::text[], %(headers)s::text[])
    AS v (storage_key, html, headers)
WHERE c.tenant_id = %(tenant_id)s AND c.storage_key = v.storage_key
  AND c.headers IS NULL;
