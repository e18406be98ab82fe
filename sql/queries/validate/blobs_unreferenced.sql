-- Stored files no attachment row refers to (a purge collects them; repair drops them).
-- params: tenant_id uuid (NULL: every tenant)
SELECT b.tenant_id, encode(b.sha256, 'hex') AS item
FROM attachment_blobs AS b
WHERE (%(tenant_id)s::uuid IS NULL OR b.tenant_id = %(tenant_id)s::uuid)
  AND NOT EXISTS (SELECT 1 FROM attachments AS a
                  WHERE a.tenant_id = b.tenant_id AND a.sha256 = b.sha256)
