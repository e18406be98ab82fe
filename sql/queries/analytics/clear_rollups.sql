-- Forget the rollups of one tenant (NULL: of every tenant) before they are rebuilt
-- (a tenant login may not DELETE: migration 0028).
-- params: tenant_id uuid
SELECT pmail_clear_rollups(%(tenant_id)s::uuid);
