-- A tenant by name.
-- params: name text
SELECT tenant_id, name, created, time_zone FROM tenants WHERE name = %(name)s;
