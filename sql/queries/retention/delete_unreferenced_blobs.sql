-- Delete the tenant's stored files that no attachment row refers to any more (only
-- among the given hashes; NULL: all of the tenant's, NULL tenant: every tenant's);
-- returns what was freed.
-- params: tenant_id uuid, hashes bytea[]
SELECT count(*) AS files, coalesce(sum(gone.size), 0)::bigint AS stored_bytes
FROM pmail_delete_unreferenced_blobs(%(tenant_id)s::uuid, %(hashes)s::bytea[])
     AS gone (size);
