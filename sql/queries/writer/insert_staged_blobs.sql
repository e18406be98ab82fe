-- Move staged attachment bytes in; a hash the tenant already has is kept as it is
-- (the writer checks such a row before it reuses it). Returns the hashes inserted:
-- a staged file that another session stored in the meantime is not among them.
-- {columns}: tenant_id and the fields of rows.BlobRow.
-- params: none
INSERT INTO attachment_blobs ({columns})
SELECT DISTINCT ON (tenant_id, sha256) {columns}
FROM pmail_stage_blobs
ORDER BY tenant_id, sha256
ON CONFLICT DO NOTHING
RETURNING sha256;
