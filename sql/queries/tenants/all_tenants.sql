-- Every tenant.
-- params: none
SELECT tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies, search_language FROM tenants ORDER BY name;
