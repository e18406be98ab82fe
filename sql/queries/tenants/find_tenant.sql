-- A tenant by name.
-- params: name text
SELECT tenant_id, name, created FROM tenants WHERE name = %(name)s;
