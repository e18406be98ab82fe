-- One stored attachment file of the tenant, as `validate --deep` reads it: the writer
-- checks a file it is about to reuse (its hash was stored before) once per run.
-- params: tenant_id uuid, sha256 bytea
SELECT b.tenant_id::text, b.sha256, b.size_bytes, b.compression, b.data
FROM attachment_blobs AS b
WHERE b.tenant_id = %(tenant_id)s AND b.sha256 = %(sha256)s;
