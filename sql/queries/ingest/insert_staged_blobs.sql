-- Move staged attachment bytes in; a hash the tenant already has is kept as it is.
-- params: none
INSERT INTO attachment_blobs (tenant_id, sha256, size_bytes, compressed_size_bytes, compression, data)
SELECT DISTINCT ON (tenant_id, sha256)
       tenant_id, sha256, size_bytes, compressed_size_bytes, compression, data
FROM pmail_stage_blobs
ORDER BY tenant_id, sha256
ON CONFLICT DO NOTHING;
