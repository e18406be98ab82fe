-- One stored attachment file of the tenant, as `validate --deep` reads it: the writer
-- checks a file before it reuses it. Share-locked until the batch commits (as
-- existing_blobs). Bytes longer than the file's own size can take, compressed or not
-- (zstd's bound: size + size/128 + 1 KiB), are not fetched: such a row cannot be the
-- file, and a planted row of a gigabyte must not be read into the writer.
-- params: tenant_id uuid, sha256 bytea, size_bytes bigint
SELECT b.tenant_id::text, b.sha256, b.size_bytes, b.compression,
       CASE WHEN octet_length(b.data) <= %(size_bytes)s + %(size_bytes)s / 128 + 1024
            THEN b.data ELSE ''::bytea END AS data
FROM attachment_blobs AS b
WHERE b.tenant_id = %(tenant_id)s AND b.sha256 = %(sha256)s
FOR SHARE;
