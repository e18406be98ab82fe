-- Every content row's stored raw form (or a random sample of them), for --deep.
-- params: tenant_id uuid (NULL: every tenant), sample integer (NULL: all)
SELECT c.tenant_id::text, c.storage_key, c.raw_form, c.raw_data, c.raw_splices,
       c.compression, c.dict_id, c.raw_sha256, c.raw_size_bytes
FROM email_content AS c
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND (%(sample)s::integer IS NULL
       OR (c.tenant_id, c.storage_key) IN (
           SELECT s.tenant_id, s.storage_key FROM email_content AS s
           WHERE %(tenant_id)s::uuid IS NULL OR s.tenant_id = %(tenant_id)s::uuid
           ORDER BY random() LIMIT %(sample)s));
