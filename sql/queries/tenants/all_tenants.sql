-- Every tenant.
-- params: none
SELECT tenant_id, name, created, time_zone FROM tenants ORDER BY name;
