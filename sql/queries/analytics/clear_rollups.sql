-- Forget the rollups of one tenant (NULL: of every tenant) before they are rebuilt.
-- params: tenant_id uuid
WITH m AS (
    DELETE FROM message_rollups
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
)
DELETE FROM storage_rollups
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
