-- Bind a login role to a tenant: every session of that role sees only its rows. The
-- binding names the role by its oid too, so a later role of the same name is not
-- bound by it (migration 0027); a binding of a role that no longer exists (its oid
-- gone) is replaced.
-- params: role_name text, tenant_id uuid
INSERT INTO pmail_tenant_roles (role_name, tenant_id, role_oid, created)
SELECT %(role_name)s, %(tenant_id)s, r.oid, now()
FROM pg_roles AS r WHERE r.rolname = %(role_name)s
ON CONFLICT (role_name) DO UPDATE
SET tenant_id = excluded.tenant_id, role_oid = excluded.role_oid, created = now()
WHERE pmail_tenant_roles.role_oid IS DISTINCT FROM excluded.role_oid;
