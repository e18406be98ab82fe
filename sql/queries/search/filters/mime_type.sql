AND m.storage_key IN (
    SELECT a.parent_storage_key FROM attachments AS a
    WHERE a.tenant_id = %(tenant_id)s AND lower(a.mime_type) LIKE %(mime_type)s)
