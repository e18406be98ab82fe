-- Clear the SQL columns of some of a tenant's messages.
-- params: tenant_id uuid, keys text[]
UPDATE email_content SET content_html = NULL, headers = NULL
WHERE tenant_id = %(tenant_id)s AND storage_key = ANY (%(keys)s::text[])
  AND (headers IS NOT NULL OR content_html IS NOT NULL);
