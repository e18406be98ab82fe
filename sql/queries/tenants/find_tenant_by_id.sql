-- A tenant by id.
-- params: tenant_id uuid
SELECT tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies, search_language FROM tenants WHERE tenant_id = %(tenant_id)s;
