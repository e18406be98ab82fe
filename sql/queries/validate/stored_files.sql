-- Every stored attachment file (or a random sample of them), for --deep.
-- params: tenant_id uuid (NULL: every tenant), sample integer (NULL: all)
SELECT b.tenant_id::text, b.sha256, b.size_bytes, b.compression, b.data
FROM attachment_blobs AS b
WHERE (%(tenant_id)s::uuid IS NULL OR b.tenant_id = %(tenant_id)s::uuid)
  AND (%(sample)s::integer IS NULL
       OR (b.tenant_id, b.sha256) IN (
           SELECT s.tenant_id, s.sha256 FROM attachment_blobs AS s
           WHERE %(tenant_id)s::uuid IS NULL OR s.tenant_id = %(tenant_id)s::uuid
           ORDER BY random() LIMIT %(sample)s));
