-- Tenant login roles with their tenant's name.
-- params: none
SELECT r.role_name::text, t.name AS tenant, r.created
FROM pmail_tenant_roles AS r JOIN tenants AS t USING (tenant_id)
ORDER BY t.name, r.role_name;
