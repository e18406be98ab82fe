-- Tenant login roles with their tenant's name (bindings of a role that still exists:
-- one made for a dropped role binds nothing, migration 0027).
-- params: none
SELECT r.role_name::text, t.name AS tenant, r.created
FROM pmail_tenant_roles AS r JOIN tenants AS t USING (tenant_id)
JOIN pg_roles AS l ON l.oid = r.role_oid AND l.rolname = r.role_name
ORDER BY t.name, r.role_name;
