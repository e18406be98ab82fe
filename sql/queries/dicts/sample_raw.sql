-- The stored raw forms of the tenant's most recent messages, to train a dictionary on.
-- params: tenant_id uuid, limit int
SELECT c.raw_data, c.compression, c.dict_id
FROM email_content AS c
WHERE c.tenant_id = %(tenant_id)s AND c.raw_data IS NOT NULL
ORDER BY c.created DESC
LIMIT %(limit)s;
