-- Scope the current transaction to one tenant: row-level security reads the setting,
-- and it ends with the transaction (a connection used for tenant A and then B never
-- carries A into B's transaction).
-- params: tenant_id text
SELECT set_config('pmail.tenant_id', %(tenant_id)s, true);
