-- Which of these attachment hashes the tenant already stores.
-- params: tenant_id uuid, hashes bytea[]
SELECT sha256
FROM attachment_blobs
WHERE tenant_id = %(tenant_id)s AND sha256 = ANY(%(hashes)s);
