-- Whether a role exists, may log in, is trusted beyond a tenant login (superuser,
-- BYPASSRLS, owner of pmail's tables), and which tenant it is bound to (a binding
-- made for an earlier role of the same name binds nothing: migration 0027).
-- params: role_name text
SELECT r.rolname IS NOT NULL AS found,
       coalesce(r.rolcanlogin, false) AS can_login,
       coalesce(r.rolsuper OR r.rolbypassrls
                OR pg_has_role(r.oid, (SELECT relowner FROM pg_class
                                       WHERE oid = 'email_messages'::regclass), 'MEMBER'),
                false) AS trusted,
       (SELECT b.tenant_id FROM pmail_tenant_roles AS b
        WHERE b.role_name = %(role_name)s AND b.role_oid = r.oid) AS tenant_id
FROM (SELECT %(role_name)s::name AS wanted) AS w
LEFT JOIN pg_roles AS r ON r.rolname = w.wanted;
