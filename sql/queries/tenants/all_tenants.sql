-- Every tenant.
-- params: none
SELECT tenant_id, name, created, time_zone, retention_days, search_index FROM tenants ORDER BY name;
