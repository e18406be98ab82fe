-- The original migration plan's checks, legacy side against migrated side.
-- params: none ({refs}, {content}, {attachments}: the legacy tables)
WITH migrated AS (
    SELECT m.tenant_id, m.storage_key, m.source,
           c.storage_key IS NOT NULL AS has_content
    FROM email_messages AS m
    LEFT JOIN email_content AS c USING (tenant_id, storage_key)
    WHERE m.source LIKE 'legacy:%%'
)
SELECT
    (SELECT count(*) FROM {refs}) AS legacy_refs,
    (SELECT count(*) FROM {content} AS c
     WHERE NOT EXISTS (SELECT 1 FROM {refs} AS r WHERE r.storage_key = c.storage_key))
        AS legacy_content_without_refs,
    (SELECT count(*) FROM {content}) AS legacy_content,
    (SELECT count(*) FROM {refs} AS r
     WHERE EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = r.storage_key))
        AS legacy_refs_with_content,
    (SELECT count(*) FROM {attachments} AS a
     WHERE EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = a.parent_storage_key))
        AS legacy_attachments,
    (SELECT coalesce(sum(octet_length(a.content)), 0) FROM {attachments} AS a
     WHERE EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = a.parent_storage_key))
        AS legacy_attachment_bytes,
    (SELECT count(*) FROM {attachments} AS a
     WHERE NOT EXISTS (SELECT 1 FROM {content} AS c WHERE c.storage_key = a.parent_storage_key))
        AS legacy_orphan_attachments,
    (SELECT count(*) FROM migrated) AS migrated_messages,
    (SELECT count(*) FROM migrated WHERE has_content) AS migrated_content,
    (SELECT count(*) FROM migrated WHERE source = 'legacy:content_inbox_message_refs'
        AND has_content) AS migrated_refs_with_content,
    (SELECT count(*) FROM migrated WHERE source = 'legacy:content_inbox_message_refs'
        AND NOT has_content) AS migrated_refs_without_content,
    (SELECT count(*) FROM migrated WHERE source = 'legacy:content_objects')
        AS migrated_content_without_refs,
    (SELECT count(*) FROM attachments AS a JOIN migrated AS m
        ON m.tenant_id = a.tenant_id AND m.storage_key = a.parent_storage_key)
        AS migrated_attachments,
    (SELECT coalesce(sum(a.size_bytes), 0) FROM attachments AS a JOIN migrated AS m
        ON m.tenant_id = a.tenant_id AND m.storage_key = a.parent_storage_key)
        AS migrated_attachment_bytes,
    (SELECT coalesce(sum(b.compressed_size_bytes), 0) FROM attachment_blobs AS b
     WHERE EXISTS (SELECT 1 FROM attachments AS a JOIN migrated AS m
                   ON m.tenant_id = a.tenant_id AND m.storage_key = a.parent_storage_key
                   WHERE a.tenant_id = b.tenant_id AND a.sha256 = b.sha256))
        AS migrated_blob_bytes,
    (SELECT count(*) FROM migration_anomalies WHERE kind = 'orphan_attachment')
        AS recorded_orphan_attachments;
