-- Bind a login role to a tenant: every session of that role sees only its rows.
-- params: role_name text, tenant_id uuid
INSERT INTO pmail_tenant_roles (role_name, tenant_id)
VALUES (%(role_name)s, %(tenant_id)s)
ON CONFLICT (role_name) DO NOTHING;
