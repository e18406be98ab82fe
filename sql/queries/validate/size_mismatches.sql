-- Recorded sizes that disagree with the bytes stored (or with each other): a content
-- row's and a file's compressed size, a message's raw size against its content's, an
-- attachment's size against its file's.
-- params: tenant_id uuid (NULL: every tenant)
SELECT c.tenant_id, 'email_content ' || c.storage_key || ' compressed_size_bytes '
       || c.compressed_size_bytes || ' <> ' || coalesce(octet_length(c.raw_data), 0) AS item
FROM email_content AS c
WHERE (%(tenant_id)s::uuid IS NULL OR c.tenant_id = %(tenant_id)s::uuid)
  AND c.compressed_size_bytes <> coalesce(octet_length(c.raw_data), 0)
UNION ALL
SELECT b.tenant_id, 'attachment_blobs ' || encode(b.sha256, 'hex')
       || ' compressed_size_bytes ' || b.compressed_size_bytes || ' <> '
       || octet_length(b.data)
FROM attachment_blobs AS b
WHERE (%(tenant_id)s::uuid IS NULL OR b.tenant_id = %(tenant_id)s::uuid)
  AND b.compressed_size_bytes <> octet_length(b.data)
UNION ALL
SELECT m.tenant_id, 'email_messages ' || m.storage_key || ' raw_size_bytes '
       || coalesce(m.raw_size_bytes::text, 'NULL') || ' <> ' || c.raw_size_bytes
FROM email_messages AS m
JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
  AND m.raw_size_bytes IS DISTINCT FROM c.raw_size_bytes
UNION ALL
SELECT a.tenant_id, 'attachments ' || a.parent_storage_key || ' part ' || a.part_index
       || ' size_bytes ' || a.size_bytes || ' <> ' || b.size_bytes
FROM attachments AS a
JOIN attachment_blobs AS b ON b.tenant_id = a.tenant_id AND b.sha256 = a.sha256
WHERE (%(tenant_id)s::uuid IS NULL OR a.tenant_id = %(tenant_id)s::uuid)
  AND a.size_bytes <> b.size_bytes
