-- Forget the suppressions of one tenant (NULL: of every tenant in scope) before they
-- are rebuilt.
-- params: tenant_id uuid
DELETE FROM suppressions
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
