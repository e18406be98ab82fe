-- Stored files of several tenants by (tenant, sha256), for rebuilding spliced messages.
-- params: tenant_ids uuid[], hashes bytea[] (pairwise)
SELECT b.tenant_id::text, b.sha256, b.compression, b.data
FROM unnest(%(tenant_ids)s::uuid[], %(hashes)s::bytea[]) AS w (tenant_id, sha256)
JOIN attachment_blobs AS b ON b.tenant_id = w.tenant_id AND b.sha256 = w.sha256;
