-- Retention (purge leaves a tombstone), legal holds that no delete can get past, and
-- tenant sessions bound to their tenant by their login role (docs/security.md).

-- Retention: a tenant's default (NULL: 2555 days); a purged message keeps its row.
ALTER TABLE tenants ADD COLUMN retention_days integer CHECK (retention_days > 0);
ALTER TABLE email_messages ADD COLUMN purged_at timestamptz;

-- When a message's content expires: its own `expires`, else its arrival (the message
-- row's `created`) plus its own retention_days, else its tenant's, else 2555 days.
CREATE FUNCTION pmail_expiry(expires timestamptz, arrived timestamptz, row_days integer,
                             tenant_days integer)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(expires,
                    arrived + make_interval(days => coalesce(row_days, tenant_days, 2555)))
$$;

-- Legal holds: by tenant, lead, campaign, account or message (its storage key);
-- released, never deleted. email_content.legal_hold (from the original design) is a
-- hold on that one message too.
CREATE TABLE legal_holds (
    tenant_id   uuid        NOT NULL REFERENCES tenants (tenant_id),
    hold_id     bigint      GENERATED ALWAYS AS IDENTITY,
    scope       text        NOT NULL
                CHECK (scope IN ('tenant', 'lead', 'campaign', 'account', 'message')),
    value       text        CHECK ((scope = 'tenant') = (value IS NULL)),
    reason      text        NOT NULL CHECK (reason <> ''),
    created_by  text        NOT NULL CHECK (created_by <> ''),
    created     timestamptz NOT NULL DEFAULT now(),
    released    timestamptz,
    released_by text,
    CHECK ((released IS NULL) = (released_by IS NULL)),
    PRIMARY KEY (tenant_id, hold_id)
);
CREATE INDEX idx_legal_holds_active ON legal_holds (tenant_id, scope, value)
    WHERE released IS NULL;

-- Whether a hold of this scope and value covers a message.
CREATE FUNCTION pmail_hold_covers(scope text, value text, key text, lead uuid,
                                  campaign uuid, account uuid)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE scope
        WHEN 'tenant' THEN true
        WHEN 'message' THEN value = key
        WHEN 'lead' THEN value = lead::text
        WHEN 'campaign' THEN value = campaign::text
        WHEN 'account' THEN value = account::text
        ELSE false
    END
$$;

-- Whether an active hold covers a message.
CREATE FUNCTION pmail_is_held(tenant uuid, key text, lead uuid, campaign uuid, account uuid)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT EXISTS (
        SELECT 1 FROM legal_holds AS h
        WHERE h.tenant_id = tenant AND h.released IS NULL
          AND coalesce(pmail_hold_covers(h.scope, h.value, key, lead, campaign, account),
                       false)
    )
$$;

-- Whatever deletes them (purge, a person with psql, a cascade), held messages keep
-- their row, their content and their attachments: the statement fails.
CREATE FUNCTION pmail_refuse_held_deletes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    held text;
BEGIN
    EXECUTE format($q$
        SELECT o.key
        FROM (SELECT tenant_id, %I AS key FROM pmail_old_rows) AS o
        LEFT JOIN email_messages AS m
               ON m.tenant_id = o.tenant_id AND m.storage_key = o.key
        LEFT JOIN email_content AS c
               ON c.tenant_id = o.tenant_id AND c.storage_key = o.key
        WHERE coalesce(c.legal_hold, false)
           OR pmail_is_held(o.tenant_id, o.key, m.lead_id, m.campaign_id,
                            m.email_account_id)
        LIMIT 1
    $q$, TG_ARGV[0]) INTO held;
    IF held IS NULL AND TG_TABLE_NAME = 'email_content' THEN
        SELECT o.storage_key INTO held FROM pmail_old_rows AS o WHERE o.legal_hold LIMIT 1;
    END IF;
    IF held IS NOT NULL THEN
        RAISE EXCEPTION 'message % is under legal hold and cannot be deleted', held
            USING ERRCODE = 'P0H01',
                  HINT = 'release the hold first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_refuse_held_deletes AFTER DELETE ON email_messages
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_deletes('storage_key');
CREATE TRIGGER pmail_refuse_held_deletes AFTER DELETE ON email_content
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_deletes('storage_key');
CREATE TRIGGER pmail_refuse_held_deletes AFTER DELETE ON attachments
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_deletes('parent_storage_key');

-- Tenant sessions: a login role recorded here sees its tenant's rows and nothing else,
-- whatever settings it makes. Only an administrator writes this table.
CREATE TABLE pmail_tenant_roles (
    role_name  name        PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (tenant_id),
    created    timestamptz NOT NULL DEFAULT now()
);

-- The tenant a role is bound to (NULL: none). SECURITY DEFINER: tenant roles cannot
-- read pmail_tenant_roles itself; this tells them no more than a role's tenant id.
CREATE FUNCTION pmail_role_tenant(role_name name) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, public AS $$
    SELECT r.tenant_id FROM pmail_tenant_roles AS r WHERE r.role_name = $1
$$;

-- The tenant this session is bound to: the tenant of its login role, else of the role
-- it has SET ROLE to; the nil uuid (no rows at all) for any other role in pmail_app
-- (SET ROLE pmail_app from a tenant login keeps the login's tenant); NULL for a
-- trusted role (the tables' owner, an administrator), whose settings choose the scope.
CREATE FUNCTION pmail_session_binding() RETURNS uuid
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        pmail_role_tenant(session_user),
        pmail_role_tenant(current_user),
        (SELECT '00000000-0000-0000-0000-000000000000'::uuid
         FROM pg_roles AS app, pg_roles AS u
         WHERE app.rolname = 'pmail_app' AND u.rolname IN (session_user, current_user)
           AND NOT u.rolsuper AND pg_has_role(u.oid, app.oid, 'MEMBER')
         LIMIT 1))
$$;

CREATE OR REPLACE FUNCTION pmail_tenant_visible(row_tenant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT CASE
        WHEN (SELECT pmail_session_binding()) IS NOT NULL
            THEN row_tenant = (SELECT pmail_session_binding())
        ELSE coalesce(current_setting('pmail.all_tenants', true), '') = 'on'
             OR row_tenant = nullif(current_setting('pmail.tenant_id', true), '')::uuid
    END
$$;

-- What pmail calls to scope a transaction to one tenant: a bound session may only
-- name its own tenant; a trusted one sets the setting row-level security reads.
CREATE FUNCTION pmail_scope_tenant(tenant uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bound uuid := pmail_session_binding();
BEGIN
    IF bound IS NOT NULL AND bound IS DISTINCT FROM tenant THEN
        RAISE EXCEPTION 'role % is bound to another tenant', session_user
            USING ERRCODE = '42501',
                  HINT = 'connect with the login role of the tenant you name '
                         '(`pmail tenant login --help`), or as an administrator';
    END IF;
    PERFORM set_config('pmail.tenant_id', tenant::text, true);
END
$$;

-- What pmail calls before work across tenants: refused to bound sessions.
CREATE FUNCTION pmail_scope_all_tenants() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pmail_session_binding() IS NOT NULL THEN
        RAISE EXCEPTION 'role % may not work across tenants', session_user
            USING ERRCODE = '42501',
                  HINT = 'run this command as an administrator (the owner of pmail''s '
                         'tables), not as a tenant login';
    END IF;
    PERFORM set_config('pmail.all_tenants', 'on', true);
END
$$;

-- Tenant sessions read their own tenant's row only and never create tenants.
DROP POLICY tenant_read ON tenants;
DROP POLICY tenant_insert ON tenants;
CREATE POLICY tenant_read ON tenants FOR SELECT
    USING ((SELECT pmail_session_binding()) IS NULL
           OR tenant_id = (SELECT pmail_session_binding()));
CREATE POLICY tenant_insert ON tenants FOR INSERT
    WITH CHECK ((SELECT pmail_session_binding()) IS NULL);

ALTER TABLE legal_holds ENABLE ROW LEVEL SECURITY;
ALTER TABLE legal_holds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON legal_holds
    USING (pmail_tenant_visible(tenant_id)) WITH CHECK (pmail_tenant_visible(tenant_id));

-- A hold is released, never deleted: its record stays.
CREATE FUNCTION pmail_keep_holds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'legal holds are released, not deleted' USING ERRCODE = 'P0H02',
        HINT = 'use `pmail hold release ID`';
END
$$;
CREATE TRIGGER pmail_keep_holds BEFORE DELETE ON legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_keep_holds();

-- The group role of tenant logins: no ownership, no BYPASSRLS, the rights tenant work
-- needs. Created when the migrating role may create roles (roles belong to the whole
-- server: another database may have made it already, or be making it now); granted
-- whenever it exists. `pmail tenant login` calls this again, so an administrator may
-- create pmail_app later; a later migration that adds a table calls it too. What is
-- granted follows from the catalog: reading and writing every table keyed by
-- tenant_id under row-level security, reading the read-only ones and the views.
CREATE FUNCTION pmail_grant_app_role() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    rel record;
    read_only text[] := ARRAY['tenants', 'legal_holds', 'migration_anomalies'];
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_app') THEN
        IF (SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user) THEN
            BEGIN
                CREATE ROLE pmail_app NOLOGIN NOBYPASSRLS;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN
                NULL;
            END;
        ELSE
            RAISE NOTICE 'role pmail_app not created (% may not create roles); tenant '
                         'logins need an administrator to create it', current_user;
            RETURN false;
        END IF;
    END IF;
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO pmail_app', current_schema());
    EXECUTE format('GRANT SELECT ON %I.pmail_schema_migrations TO pmail_app',
                   current_schema());
    FOR rel IN
        SELECT c.relname, c.relkind FROM pg_class AS c
        WHERE c.relnamespace = current_schema()::regnamespace
          AND (c.relkind = 'v'
               OR (c.relkind = 'r' AND c.relrowsecurity
                   AND EXISTS (SELECT 1 FROM pg_attribute AS a
                               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id'
                                 AND NOT a.attisdropped)))
    LOOP
        EXECUTE format(
            CASE WHEN rel.relkind = 'v' OR rel.relname = ANY (read_only)
                 THEN 'GRANT SELECT ON %I TO pmail_app'
                 ELSE 'GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO pmail_app' END,
            rel.relname);
    END LOOP;
    RETURN true;
END
$$;
SELECT pmail_grant_app_role();
