-- pmail_role_tenant answers for the caller's own roles only (red-team finding of
-- 2026-12-08, docs/security.md "Which tenant a role is bound to").
--
-- Any role could ask pmail_role_tenant(name) which tenant id any role is bound to:
-- the catalog lists every role, so a tenant login learned every other tenant's id,
-- the value its EXPLAIN probes and per-tenant estimates are aimed with, and with the
-- default login names (`pmail_<tenant name>`) which tenant each id is. Now it answers
-- only for a role the session's login is a member of (itself, and the roles it may SET
-- ROLE to, which is all pmail_session_binding and pmail_check_delete_right ask about),
-- and NULL for any other. SECURITY DEFINER functions still see their caller's login as
-- session_user, so the deletes' checks are unchanged.

CREATE OR REPLACE FUNCTION pmail_role_tenant(role_name name) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT r.tenant_id FROM pmail_tenant_roles AS r
    JOIN pg_roles AS l ON l.oid = r.role_oid AND l.rolname = r.role_name
    WHERE r.role_name = $1
      AND pg_has_role(session_user, l.oid, 'MEMBER');
END;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
