-- Whether a role exists, may log in, is trusted beyond a tenant login (superuser,
-- BYPASSRLS, owner of pmail's tables), and which tenant it is bound to.
-- params: role_name text
SELECT r.rolname IS NOT NULL AS found,
       coalesce(r.rolcanlogin, false) AS can_login,
       coalesce(r.rolsuper OR r.rolbypassrls
                OR pg_has_role(r.oid, (SELECT relowner FROM pg_class
                                       WHERE oid = 'email_messages'::regclass), 'MEMBER'),
                false) AS trusted,
       (SELECT tenant_id FROM pmail_tenant_roles WHERE role_name = %(role_name)s) AS tenant_id
FROM (SELECT %(role_name)s::name AS wanted) AS w
LEFT JOIN pg_roles AS r ON r.rolname = w.wanted;
