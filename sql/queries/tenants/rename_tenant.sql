-- Give a tenant another name (the CHECK tenants_name_plain applies to it).
-- params: tenant_id uuid, name text
UPDATE tenants SET name = %(name)s WHERE tenant_id = %(tenant_id)s;
