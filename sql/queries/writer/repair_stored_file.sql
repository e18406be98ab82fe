-- Put a stored attachment file's right bytes back (the writer found the row's bytes
-- do not give its sha256: a row planted ahead of the real file). A trusted session
-- only: a tenant login may not rewrite a stored file (migration 0033), and held
-- mail's files stay as they are (the hold guard refuses).
-- params: tenant_id uuid, sha256 bytea, size_bytes bigint, compressed_size_bytes bigint,
--         compression text, data bytea
UPDATE attachment_blobs
SET size_bytes = %(size_bytes)s, compressed_size_bytes = %(compressed_size_bytes)s,
    compression = %(compression)s, data = %(data)s
WHERE tenant_id = %(tenant_id)s AND sha256 = %(sha256)s;
