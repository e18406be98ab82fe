-- Which of these storage keys the tenant already has.
-- params: tenant_id uuid, keys text[]
SELECT storage_key
FROM email_messages
WHERE tenant_id = %(tenant_id)s AND storage_key = ANY(%(keys)s);
