-- Attachment rows that point at a file the tenant does not store.
-- params: tenant_id uuid (NULL: every tenant)
SELECT a.tenant_id, a.parent_storage_key || ' part ' || a.part_index || ' sha256 '
       || encode(a.sha256, 'hex') AS item
FROM attachments AS a
WHERE (%(tenant_id)s::uuid IS NULL OR a.tenant_id = %(tenant_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM attachment_blobs AS b
                  WHERE b.tenant_id = a.tenant_id AND b.sha256 = a.sha256)
