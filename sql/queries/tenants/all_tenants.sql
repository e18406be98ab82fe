-- Every tenant.
-- params: none
SELECT tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies FROM tenants ORDER BY name;
