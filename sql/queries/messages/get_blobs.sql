-- Attachment bytes by hash.
-- params: tenant_id uuid, hashes bytea[]
SELECT sha256, compression, data
FROM attachment_blobs
WHERE tenant_id = %(tenant_id)s AND sha256 = ANY(%(hashes)s);
