-- A tenant's write lock as a row lock. Each batch of a tenant's writer (and purge,
-- rollup rebuild, the backfills, `tenant set`) used to take an advisory lock on a key
-- derived from the tenant id. Advisory locks have no owner and no grant: any role
-- that could connect (a read-only tenant login, a role with no grant at all) could
-- take another tenant's key (its id is told by pmail_role_tenant, and the key itself
-- shows in pg_locks while a writer holds it) and stall that tenant's writers for as
-- long as it kept its session. A row of this table is locked instead: row-level
-- security lets a session lock only the row of a tenant in its scope, and only a
-- role with INSERT and UPDATE on it (pmail_app, pmail_admin, the owner) can lock one.
-- pmail_app gets UPDATE of the column only, not of the table: table-wide UPDATE or
-- DELETE would let a tenant login LOCK TABLE it and so hold every tenant's lock.
-- The row is made by the first lock (INSERT ... ON CONFLICT DO UPDATE waits for,
-- then takes, the row's lock); nothing references it.

CREATE TABLE tenant_write_locks (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (tenant_id) ON DELETE CASCADE
);

ALTER TABLE tenant_write_locks ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenant_write_locks FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_write_locks
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())))
    WITH CHECK (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));

-- as before, and tenant_write_locks with what locking a row needs, no more
CREATE OR REPLACE FUNCTION pmail_grant_app_role() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    rel record;
    grp text;
    schema_name text := (SELECT n.nspname FROM pg_class AS c
                         JOIN pg_namespace AS n ON n.oid = c.relnamespace
                         WHERE c.oid = 'email_messages'::regclass);
    read_only text[] := ARRAY['tenants', 'legal_holds', 'migration_anomalies'];
    lock_only text[] := ARRAY['tenant_write_locks'];
    may_create boolean := (SELECT rolcreaterole OR rolsuper FROM pg_roles
                           WHERE rolname = current_user);
    missing boolean := false;
BEGIN
    FOREACH grp IN ARRAY ARRAY['pmail_app', 'pmail_reader', 'pmail_analyst', 'pmail_admin']
    LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp) THEN
            IF may_create THEN
                BEGIN
                    EXECUTE format('CREATE ROLE %I NOLOGIN NOBYPASSRLS', grp);
                EXCEPTION WHEN duplicate_object OR unique_violation THEN
                    NULL;
                END;
            ELSE
                RAISE NOTICE 'role % not created (% may not create roles); an '
                             'administrator creates it', grp, current_user;
                missing := true;
                CONTINUE;
            END IF;
        END IF;
        EXECUTE format('GRANT USAGE ON SCHEMA %I TO %I', schema_name, grp);
        EXECUTE format('GRANT SELECT ON %I.pmail_schema_migrations TO %I',
                       schema_name, grp);
    END LOOP;
    FOR rel IN
        SELECT c.relname, c.relkind FROM pg_class AS c
        WHERE c.relnamespace = schema_name::regnamespace
          AND (c.relkind = 'v'
               OR (c.relkind = 'r' AND c.relrowsecurity
                   AND EXISTS (SELECT 1 FROM pg_attribute AS a
                               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                                 AND NOT a.attisdropped)))
    LOOP
        FOREACH grp IN ARRAY ARRAY['pmail_app', 'pmail_reader', 'pmail_analyst', 'pmail_admin']
        LOOP
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp);
            IF grp = 'pmail_app' AND rel.relname = ANY (lock_only) THEN
                -- what taking the lock needs, and no table-wide UPDATE or DELETE:
                -- with either, LOCK TABLE could hold every tenant's lock at once
                EXECUTE format('REVOKE UPDATE, DELETE ON %I.%I FROM %I',
                               schema_name, rel.relname, grp);
                EXECUTE format('GRANT SELECT, INSERT, UPDATE (tenant_id) ON %I.%I TO %I',
                               schema_name, rel.relname, grp);
                CONTINUE;
            END IF;
            EXECUTE format(
                CASE WHEN grp IN ('pmail_reader', 'pmail_analyst') OR rel.relkind = 'v'
                          OR (grp = 'pmail_app' AND rel.relname = ANY (read_only))
                     THEN 'GRANT SELECT ON %I.%I TO %I'
                     ELSE 'GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO %I' END,
                schema_name, rel.relname, grp);
        END LOOP;
    END LOOP;
    RETURN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_app');
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
