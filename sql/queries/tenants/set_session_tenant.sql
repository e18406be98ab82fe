-- Scope this session to one tenant (row-level security reads it).
-- params: tenant_id text
SELECT set_config('pmail.tenant_id', %(tenant_id)s, false);
