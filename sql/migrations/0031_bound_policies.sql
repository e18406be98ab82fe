-- A tenant login's row-level security as an index condition (red-team pass of
-- 2026-12-07, docs/security.md "A session bending the policy path").
--
-- Every table's one policy, `pmail_in_scope(tenant_id, scope)` (the tenant's id, or
-- the all-tenants id for a trusted session), is an OR, which no index can take: the
-- policy was a filter applied after an index scan had applied the query's own
-- leakproof conditions. `EXPLAIN ANALYZE` prints how many rows that filter removed,
-- so a tenant login read another tenant's indexed values exactly ("Rows Removed by
-- Filter: 1" when acme holds a file of this sha256; range conditions spelled out
-- addresses, keys and ids).
--
-- Now the tenant logins' groups (pmail_app, pmail_reader) also meet a RESTRICTIVE
-- policy, `tenant_id = (SELECT pmail_session_scope())`: an equality an index scan
-- applies beside the query's own conditions, so another tenant's id contradicts it
-- and no row of that tenant is read at all. The permissive policy stays for
-- everyone (PUBLIC), as before: no role name is fixed into a policy (an owner
-- changed later still sees what it saw, and the hold guards, which run as the
-- owner, still see every hold). A member of those groups sees one tenant at a time
-- (a trusted role is not made one: `pmail tenant login` refuses group roles).
-- Without the group roles (a migrating role that may not create roles) there are no
-- tenant logins either, and nothing is added.

DO $$
DECLARE
    t record;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_app')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_reader') THEN
        RAISE NOTICE 'roles pmail_app and pmail_reader missing: no tenant_bound '
                     'policy added (no tenant login can exist without them)';
        RETURN;
    END IF;
    FOR t IN
        SELECT c.relname FROM pg_policy AS pol JOIN pg_class AS c ON c.oid = pol.polrelid
        WHERE pol.polname = 'tenant_isolation'
          AND c.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format(
            'CREATE POLICY tenant_bound ON %I AS RESTRICTIVE TO pmail_app, pmail_reader '
            'USING (tenant_id = (SELECT pmail_session_scope())) '
            'WITH CHECK (tenant_id = (SELECT pmail_session_scope()))', t.relname);
    END LOOP;
    -- tenants: a tenant login reads its own row only (it writes none)
    CREATE POLICY tenant_bound ON tenants AS RESTRICTIVE FOR SELECT
        TO pmail_app, pmail_reader
        USING (tenant_id = (SELECT pmail_session_scope()));
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
