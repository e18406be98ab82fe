-- Every tenant.
-- params: none
SELECT tenant_id, name, created FROM tenants ORDER BY name;
