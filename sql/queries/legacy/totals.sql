-- What the legacy tables hold, and the dirt in them.
-- params: none ({refs}, {content}, {attachments}: the legacy tables)
SELECT (SELECT count(*) FROM {refs}) AS refs,
       (SELECT count(*) FROM {content}) AS content,
       (SELECT count(*) FROM {attachments}) AS attachments,
       (SELECT coalesce(sum(octet_length(content)), 0) FROM {attachments}) AS attachment_bytes,
       (SELECT count(DISTINCT tenant_id) FROM {refs}) AS tenants,
       (SELECT count(*) FROM {refs} AS r
        WHERE NOT EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = r.storage_key))
           AS refs_without_content,
       (SELECT count(*) FROM {content} AS c
        WHERE NOT EXISTS (SELECT 1 FROM {refs} AS r WHERE r.storage_key = c.storage_key))
           AS content_without_refs,
       (SELECT count(*) FROM {attachments} AS a
        WHERE NOT EXISTS (SELECT 1 FROM {content} AS c
                          WHERE c.storage_key = a.parent_storage_key))
           AS attachments_without_content,
       (SELECT count(*) FROM {attachments} AS a
        WHERE a.size_bytes IS DISTINCT FROM octet_length(a.content))
           AS attachment_size_mismatches;
