-- The legacy files the run maps (those whose message has a content row; the others are
-- orphan_attachments_page's): id, recorded size and true size, without reading the
-- bytes (octet_length reads the stored length only).
-- params: none
SELECT a.id, a.size_bytes, octet_length(a.content) AS true_size
FROM {attachments} AS a
WHERE EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = a.parent_storage_key);
