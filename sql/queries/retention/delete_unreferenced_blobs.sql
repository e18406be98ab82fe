-- Delete the tenant's stored files that no attachment row refers to any more (only
-- among the given hashes; NULL: all of the tenant's, NULL tenant: every tenant's);
-- returns what was freed.
-- params: tenant_id uuid, hashes bytea[]
WITH gone AS (
    DELETE FROM attachment_blobs AS b
    WHERE (%(tenant_id)s::uuid IS NULL OR b.tenant_id = %(tenant_id)s::uuid)
      AND (%(hashes)s::bytea[] IS NULL OR b.sha256 = ANY(%(hashes)s::bytea[]))
      AND NOT EXISTS (SELECT 1 FROM attachments AS a
                      WHERE a.tenant_id = b.tenant_id AND a.sha256 = b.sha256)
    RETURNING b.compressed_size_bytes
)
SELECT count(*) AS files, coalesce(sum(compressed_size_bytes), 0)::bigint AS stored_bytes
FROM gone;
