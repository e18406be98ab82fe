-- Which of these attachment hashes the tenant already stores, with the row's version
-- (xmin: a row deleted and inserted again, as a planted file would be, is another).
-- params: tenant_id uuid, hashes bytea[]
SELECT sha256, xmin::text
FROM attachment_blobs
WHERE tenant_id = %(tenant_id)s AND sha256 = ANY(%(hashes)s);
