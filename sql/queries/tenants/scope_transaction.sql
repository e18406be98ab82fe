-- Scope the current transaction to one tenant: row-level security reads the setting,
-- and it ends with the transaction (a connection used for tenant A and then B never
-- carries A into B's transaction). A tenant login may name only its own tenant.
-- params: tenant_id text
SELECT pmail_scope_tenant(%(tenant_id)s::uuid);
