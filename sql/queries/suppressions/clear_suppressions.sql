-- Forget the suppressions of one tenant (NULL: of every tenant in scope) before they
-- are rebuilt (a tenant login may not DELETE: migration 0028).
-- params: tenant_id uuid
SELECT pmail_clear_suppressions(%(tenant_id)s::uuid);
