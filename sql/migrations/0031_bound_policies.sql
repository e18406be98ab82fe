-- A tenant login's row-level security as an index condition (red-team pass of
-- 2026-12-07, docs/security.md "What it does not cover" before this migration).
--
-- Every table's one policy, `pmail_in_scope(tenant_id, scope)` (the tenant's id, or
-- the all-tenants id for a trusted session), is an OR, which no index can take: the
-- policy was a filter applied after an index scan had applied the query's own
-- leakproof conditions. `EXPLAIN ANALYZE` prints how many rows that filter removed,
-- so a tenant login read another tenant's indexed values exactly ("Rows Removed by
-- Filter: 1" when acme holds a file of this sha256; range conditions spelled out
-- addresses, keys and ids).
--
-- Now the policies are split by who connects:
-- * tenant_bound, for the tenant logins' groups (pmail_app, pmail_reader):
--   `tenant_id = (SELECT pmail_session_scope())`, an equality an index scan applies
--   beside the query's own conditions, so another tenant's id contradicts it and no
--   row of that tenant is read at all;
-- * tenant_isolation, as before, for the roles whose settings choose the scope (the
--   owner of pmail's tables and its members, pmail_admin, pmail_analyst).
-- A role in neither (a login granted SELECT by hand) has no policy and sees nothing,
-- as it saw nothing before (no binding, not trusted: no scope). The planner's
-- estimate for a tenant login is an equality's, as before (1 / the tenants).
-- Without the group roles (a migrating role that may not create roles), there are
-- no tenant logins either, and the policies stay as they were.

DO $$
DECLARE
    t record;
    owner_role text := (SELECT c.relowner::regrole::text FROM pg_class AS c
                        WHERE c.oid = 'email_messages'::regclass);
    trusted text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_app')
       OR NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_reader') THEN
        RAISE NOTICE 'roles pmail_app and pmail_reader missing: policies left as '
                     'they were (no tenant login can exist without them)';
        RETURN;
    END IF;
    SELECT string_agg(quote_ident(r), ', ') INTO trusted
    FROM unnest(ARRAY[owner_role, 'pmail_admin', 'pmail_analyst']) AS r
    WHERE EXISTS (SELECT 1 FROM pg_roles AS g WHERE g.rolname = r);
    FOR t IN
        SELECT c.relname FROM pg_policy AS pol JOIN pg_class AS c ON c.oid = pol.polrelid
        WHERE pol.polname = 'tenant_isolation'
          AND c.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %I TO %s', t.relname, trusted);
        EXECUTE format(
            'CREATE POLICY tenant_bound ON %I TO pmail_app, pmail_reader '
            'USING (tenant_id = (SELECT pmail_session_scope())) '
            'WITH CHECK (tenant_id = (SELECT pmail_session_scope()))', t.relname);
    END LOOP;
    -- tenants: a tenant login reads its own row only (it writes none)
    EXECUTE format('ALTER POLICY tenant_read ON tenants TO %s', trusted);
    EXECUTE format('ALTER POLICY tenant_write ON tenants TO %s', trusted);
    EXECUTE format('ALTER POLICY tenant_delete ON tenants TO %s', trusted);
    EXECUTE format('ALTER POLICY tenant_insert ON tenants TO %s', trusted);
    CREATE POLICY tenant_bound_read ON tenants FOR SELECT TO pmail_app, pmail_reader
        USING (tenant_id = (SELECT pmail_session_scope()));
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
