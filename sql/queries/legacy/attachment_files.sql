-- What the legacy attachments of these messages are: size, hash (computed by the
-- server, so bytes already stored are never sent), name and type; in file order.
-- params: keys text[]
SELECT a.id, a.parent_storage_key, a.filename, a.mime_type, a.size_bytes,
       octet_length(a.content) AS true_size, sha256(coalesce(a.content, ''::bytea)) AS sha256,
       a.storage_disposition
FROM {attachments} AS a
WHERE a.parent_storage_key = ANY(%(keys)s)
ORDER BY a.parent_storage_key, a.id;
