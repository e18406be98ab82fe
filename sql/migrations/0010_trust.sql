-- Trust that holds against someone who tries (docs/security.md):
-- * every function binds its names so that nothing a session creates (a temporary
--   table, view or type, an object in a schema it may create in) can stand in for
--   them: SQL functions get SQL-standard bodies, which are bound when created;
--   PL/pgSQL ones a fixed search_path with pg_temp last;
-- * trust fails closed: the settings widen what a session sees only for the tables'
--   owner (and its members), superusers and members of pmail_admin / pmail_analyst; any
--   other role sees no tenant rows unless its login is bound to a tenant;
-- * the policies evaluate the session's scope once per statement instead of once per
--   row;
-- * a legal hold makes mail immutable: no UPDATE or TRUNCATE (nor DELETE, since 0007)
--   gets past it, and a hold record changes only by being released.

-- Scopes: a tenant id, NULL (nothing) or this id (every tenant). No tenant may use it.
ALTER TABLE tenants ADD CONSTRAINT tenants_not_a_scope
    CHECK (tenant_id <> 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
           AND tenant_id <> '00000000-0000-0000-0000-000000000000'::uuid);

-- The tenant a role is bound to (NULL: none). SECURITY DEFINER: tenant roles cannot
-- read pmail_tenant_roles itself; this tells them no more than a role's tenant id.
-- The body is bound when created; the search_path is fixed all the same.
CREATE OR REPLACE FUNCTION pmail_role_tenant(role_name name) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT r.tenant_id FROM pmail_tenant_roles AS r WHERE r.role_name = $1;
END;

-- Whether the current role may choose its scope with the settings: a superuser, a
-- member of the role that owns pmail's tables (it could switch row-level security off
-- anyway), or a member of pmail_admin or pmail_analyst. Nobody else, whatever it sets.
CREATE FUNCTION pmail_session_trusted() RETURNS boolean
LANGUAGE sql STABLE
RETURN (SELECT u.rolsuper FROM pg_catalog.pg_roles AS u WHERE u.rolname = current_user)
    OR pg_catalog.pg_has_role(current_user,
           (SELECT c.relowner FROM pg_catalog.pg_class AS c
            WHERE c.oid = 'email_messages'::regclass), 'MEMBER')
    OR EXISTS (SELECT 1 FROM pg_catalog.pg_roles AS a
               WHERE a.rolname IN ('pmail_admin', 'pmail_analyst')
                 AND pg_catalog.pg_has_role(current_user, a.oid, 'MEMBER'));

-- The tenant this session is bound to: the tenant of its login role, else of the role
-- it has SET ROLE to; the nil uuid (no rows at all) for a role that is not trusted;
-- NULL for a trusted role, whose settings choose the scope.
CREATE OR REPLACE FUNCTION pmail_session_binding() RETURNS uuid
LANGUAGE sql STABLE
RETURN coalesce(pmail_role_tenant(session_user), pmail_role_tenant(current_user),
                CASE WHEN pmail_session_trusted() THEN NULL
                     ELSE '00000000-0000-0000-0000-000000000000'::uuid END);

-- What this session may see: one tenant's id, NULL (nothing) or the all-tenants id.
CREATE FUNCTION pmail_session_scope() RETURNS uuid
LANGUAGE sql STABLE
RETURN CASE
    WHEN pmail_session_binding() IS NOT NULL
        THEN nullif(pmail_session_binding(), '00000000-0000-0000-0000-000000000000'::uuid)
    WHEN current_setting('pmail.all_tenants', true) = 'on'
        THEN 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid
    ELSE nullif(current_setting('pmail.tenant_id', true), '')::uuid
END;

-- Whether a row of `row_tenant` is in `scope` (inlined into each policy, where the
-- scope is computed once per statement).
CREATE FUNCTION pmail_in_scope(row_tenant uuid, scope uuid) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN row_tenant = scope OR scope = 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid;

-- Kept for readers of the old policy: the same rule, for one row.
CREATE OR REPLACE FUNCTION pmail_tenant_visible(row_tenant uuid) RETURNS boolean
LANGUAGE sql STABLE
RETURN coalesce(pmail_in_scope(row_tenant, pmail_session_scope()), false);

-- Every tenant_isolation policy: the scope once per statement (an InitPlan), then two
-- comparisons a row (pmail_tenant_visible cost ~0.1 ms a row: docs/performance.md).
DO $$
DECLARE
    p record;
BEGIN
    FOR p IN
        SELECT c.relname FROM pg_policy AS pol JOIN pg_class AS c ON c.oid = pol.polrelid
        WHERE pol.polname = 'tenant_isolation'
          AND c.relnamespace = current_schema()::regnamespace
    LOOP
        EXECUTE format('ALTER POLICY tenant_isolation ON %I '
                       'USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope()))) '
                       'WITH CHECK (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())))',
                       p.relname);
    END LOOP;
END
$$;
ALTER POLICY tenant_write ON tenants
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));
ALTER POLICY tenant_delete ON tenants
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));

-- pmail's own scoping: a bound session may name its own tenant only, an untrusted one
-- nothing; a trusted one sets the setting the policies read.
CREATE OR REPLACE FUNCTION pmail_scope_tenant(tenant uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    bound uuid := pmail_session_binding();
BEGIN
    IF bound = '00000000-0000-0000-0000-000000000000'::uuid THEN
        RAISE EXCEPTION 'role % is neither bound to a tenant nor an administrator',
                        current_user
            USING ERRCODE = '42501',
                  HINT = 'connect as the owner of pmail''s tables, a member of '
                         'pmail_admin, or a tenant''s login (`pmail tenant login --help`)';
    END IF;
    IF bound IS NOT NULL AND bound IS DISTINCT FROM tenant THEN
        RAISE EXCEPTION 'role % is bound to another tenant', session_user
            USING ERRCODE = '42501',
                  HINT = 'connect with the login role of the tenant you name '
                         '(`pmail tenant login --help`), or as an administrator';
    END IF;
    PERFORM set_config('pmail.tenant_id', tenant::text, true);
END
$$;

CREATE OR REPLACE FUNCTION pmail_scope_all_tenants() RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    IF pmail_session_binding() = '00000000-0000-0000-0000-000000000000'::uuid THEN
        RAISE EXCEPTION 'role % is neither bound to a tenant nor an administrator',
                        current_user
            USING ERRCODE = '42501',
                  HINT = 'connect as the owner of pmail''s tables or a member of '
                         'pmail_admin';
    ELSIF pmail_session_binding() IS NOT NULL THEN
        RAISE EXCEPTION 'role % may not work across tenants', session_user
            USING ERRCODE = '42501',
                  HINT = 'run this command as an administrator (the owner of pmail''s '
                         'tables), not as a tenant login';
    END IF;
    PERFORM set_config('pmail.all_tenants', 'on', true);
END
$$;

-- SQL functions written before this migration get SQL-standard bodies (same text,
-- bound now): a session's temporary table, view or type can no longer be read in
-- place of the table or type they name.
CREATE OR REPLACE FUNCTION pmail_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE
RETURN CASE status
    WHEN 'auto_replied' THEN 1
    WHEN 'replied' THEN 2
    WHEN 'bounced' THEN 3
    WHEN 'complained' THEN 4
    ELSE 0
END;

CREATE OR REPLACE FUNCTION pmail_tenant_day(tenant uuid, at timestamptz) RETURNS date
LANGUAGE sql STABLE
RETURN (at AT TIME ZONE (SELECT t.time_zone FROM tenants AS t WHERE t.tenant_id = tenant))::date;

CREATE OR REPLACE FUNCTION pmail_changed_rows(op text) RETURNS text
LANGUAGE sql IMMUTABLE
RETURN CASE op
    WHEN 'INSERT' THEN 'SELECT n.*, 1 AS sign FROM pmail_new_rows AS n'
    WHEN 'DELETE' THEN 'SELECT o.*, -1 AS sign FROM pmail_old_rows AS o'
    ELSE 'SELECT o.*, -1 AS sign FROM pmail_old_rows AS o '
         'UNION ALL SELECT n.*, 1 AS sign FROM pmail_new_rows AS n'
END;

CREATE OR REPLACE FUNCTION pmail_expiry(expires timestamptz, arrived timestamptz,
                                        row_days integer, tenant_days integer)
RETURNS timestamptz LANGUAGE sql IMMUTABLE
RETURN coalesce(expires,
                arrived + make_interval(days => coalesce(row_days, tenant_days, 2555)));

CREATE OR REPLACE FUNCTION pmail_hold_covers(scope text, value text, key text, lead uuid,
                                             campaign uuid, account uuid)
RETURNS boolean LANGUAGE sql IMMUTABLE
RETURN CASE scope
    WHEN 'tenant' THEN true
    WHEN 'message' THEN value = key
    WHEN 'lead' THEN value = lead::text
    WHEN 'campaign' THEN value = campaign::text
    WHEN 'account' THEN value = account::text
    ELSE false
END;

CREATE OR REPLACE FUNCTION pmail_is_held(tenant uuid, key text, lead uuid, campaign uuid,
                                         account uuid)
RETURNS boolean LANGUAGE sql STABLE
RETURN EXISTS (
    SELECT 1 FROM legal_holds AS h
    WHERE h.tenant_id = tenant AND h.released IS NULL
      AND coalesce(pmail_hold_covers(h.scope, h.value, key, lead, campaign, account), false)
);

CREATE OR REPLACE FUNCTION pmail_search_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT CASE
        WHEN s ~ '[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]'
        THEN regexp_replace(s,
            '([\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef])',
            ' \1 ', 'g')
        ELSE s
    END
    FROM (SELECT left(coalesce(t, ''), 100000) AS s) AS x;
END;

CREATE OR REPLACE FUNCTION pmail_search_vector(subject text, filenames text,
                                               diagnostics text, body text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector('simple', pmail_search_text(subject)), 'A')
    || setweight(to_tsvector('simple',
           regexp_replace(pmail_search_text(filenames), '[._-]+', ' ', 'g')), 'B')
    || setweight(to_tsvector('simple', pmail_search_text(diagnostics)), 'C')
    || setweight(to_tsvector('simple', pmail_search_text(body)), 'D');

CREATE OR REPLACE FUNCTION pmail_search_weighted(q tsquery, weight text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN regexp_replace(q::text, '(''(?:[^'']|'''')*'')', '\1:' || weight, 'g')::tsquery;

CREATE OR REPLACE FUNCTION pmail_search_snippet(body text, q tsquery, mark_start text,
                                                mark_stop text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN q IS NULL OR body IS NULL THEN NULL
    ELSE regexp_replace(
        ts_headline('simple', left(body, 20000), q,
            format('StartSel=%s, StopSel=%s, MaxWords=16, MinWords=6, '
                   'MaxFragments=1, FragmentDelimiter=" … "',
                   quote_ident(mark_start), quote_ident(mark_stop))),
        '\s+', ' ', 'g')
    END;

CREATE OR REPLACE FUNCTION pmail_address_tokens(from_email text, to_email text,
                                                cc_email text)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT array_agg(DISTINCT f.field || ':' || t.token)
    FROM (VALUES ('from', from_email), ('to', to_email), ('cc', cc_email)) AS f (field, list),
         unnest(string_to_array(lower(f.list), ',')) AS a (item),
         LATERAL (SELECT btrim(a.item) AS addr) AS b,
         LATERAL (VALUES (b.addr),
                         ('@' || nullif(split_part(b.addr, '@', 2), '')),
                         (nullif(split_part(b.addr, '@', 1), '') || '@'))
             AS t (token)
    WHERE b.addr <> '' AND t.token IS NOT NULL;
END;

CREATE OR REPLACE FUNCTION pmail_stored_search_vector(tenant uuid, key text)
RETURNS tsvector
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT pmail_search_vector(m.subject,
        (SELECT string_agg(a.filename, ' ' ORDER BY a.part_index) FROM attachments AS a
         WHERE a.tenant_id = tenant AND a.parent_storage_key = key),
        (SELECT string_agg(f.diagnostic_code, ' ' ORDER BY f.recipient_index)
         FROM delivery_facts AS f WHERE f.tenant_id = tenant AND f.storage_key = key),
        c.content_text)
    FROM email_messages AS m
    JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
    WHERE m.tenant_id = tenant AND m.storage_key = key;
END;

-- Legal holds make mail immutable. What pmail itself moves on held mail stays
-- movable: an outbound message's status and links (a late bounce or reply), sizes
-- that validate --repair recomputes, search documents; the ids that decide which
-- lead, campaign or account hold covers a message may only be filled in (linking),
-- never changed or cleared; email_content.legal_hold may be set, never cleared. Every
-- other column of a held row is protected, so a column added later is protected
-- until a migration says otherwise (the trigger's arguments).
CREATE INDEX idx_email_content_legal_hold ON email_content (tenant_id) WHERE legal_hold;

-- An UPDATE may not change a held row except in the columns the trigger names
-- (its arguments) and the fill-only ids; the row keeps its primary key.
CREATE FUNCTION pmail_refuse_held_updates() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    movable text[] := TG_ARGV;
    fill_only text[] := ARRAY['lead_id', 'campaign_id', 'email_account_id'];
    identity text[];
    held_by text;
    same text;
    filled text;
    flagged boolean := false;
    flag text := CASE TG_TABLE_NAME WHEN 'email_content'
                      THEN '(NOT o.legal_hold OR n.legal_hold)' ELSE 'true' END;
    found_key text;
BEGIN
    IF TG_TABLE_NAME = 'email_content' THEN
        -- the flag as it was: an update that clears it is looked at below
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pmail_old_rows AS o WHERE o.legal_hold)'
        INTO flagged;
    END IF;
    IF NOT flagged AND NOT EXISTS (SELECT 1 FROM legal_holds AS h
                   WHERE h.released IS NULL
                     AND h.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
       AND NOT EXISTS (SELECT 1 FROM email_content AS c
                       WHERE c.legal_hold
                         AND c.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
    THEN
        RETURN NULL;  -- the common case: no hold anywhere near these rows
    END IF;
    -- the row's identity (its primary key) and its protected columns
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO identity
    FROM pg_index AS i JOIN pg_attribute AS a
      ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = TG_RELID AND i.indisprimary;
    SELECT string_agg(format('o.%1$I IS NOT DISTINCT FROM n.%1$I', a.attname), ' AND ')
    INTO same
    FROM pg_attribute AS a
    WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
      AND NOT a.attname = ANY (movable || fill_only || ARRAY['legal_hold']);
    SELECT coalesce(string_agg(format('(o.%1$I IS NULL OR o.%1$I IS NOT DISTINCT FROM n.%1$I)',
                                      a.attname), ' AND '), 'true')
    INTO filled
    FROM pg_attribute AS a
    WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname = ANY (fill_only);
    held_by := CASE TG_TABLE_NAME
        WHEN 'email_messages' THEN
            'pmail_is_held(o.tenant_id, o.storage_key, o.lead_id, o.campaign_id, '
            'o.email_account_id) OR EXISTS (SELECT 1 FROM email_content AS c '
            'WHERE c.tenant_id = o.tenant_id AND c.storage_key = o.storage_key '
            'AND c.legal_hold)'
        WHEN 'email_content' THEN
            'o.legal_hold OR pmail_message_held(o.tenant_id, o.storage_key)'
        WHEN 'attachments' THEN
            'pmail_message_held(o.tenant_id, o.parent_storage_key)'
        ELSE
            'EXISTS (SELECT 1 FROM attachments AS a WHERE a.tenant_id = o.tenant_id '
            'AND a.sha256 = o.sha256 '
            'AND pmail_message_held(a.tenant_id, a.parent_storage_key))'
    END;
    EXECUTE format($q$
        SELECT %s FROM pmail_old_rows AS o
        WHERE (%s)
          AND NOT EXISTS (SELECT 1 FROM pmail_new_rows AS n
                          WHERE %s AND %s AND %s AND %s)
        LIMIT 1
    $q$,
        CASE TG_TABLE_NAME WHEN 'attachments' THEN 'o.parent_storage_key'
                           WHEN 'attachment_blobs' THEN 'encode(o.sha256, ''hex'')'
                           ELSE 'o.storage_key' END,
        held_by,
        (SELECT string_agg(format('n.%1$I = o.%1$I', k), ' AND ') FROM unnest(identity) AS k),
        coalesce(same, 'true'), filled, flag)
    INTO found_key;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION '% % is under legal hold and cannot be changed',
                        CASE TG_TABLE_NAME WHEN 'attachment_blobs' THEN 'file'
                                           ELSE 'message' END, found_key
            USING ERRCODE = 'P0H01',
                  HINT = 'release the hold first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;

-- Whether a stored message is held (by an active hold or its content's flag).
CREATE FUNCTION pmail_message_held(tenant uuid, key text) RETURNS boolean
LANGUAGE sql STABLE
RETURN EXISTS (SELECT 1 FROM email_content AS c
               WHERE c.tenant_id = tenant AND c.storage_key = key AND c.legal_hold)
    OR EXISTS (SELECT 1 FROM email_messages AS m
               WHERE m.tenant_id = tenant AND m.storage_key = key
                 AND pmail_is_held(m.tenant_id, m.storage_key, m.lead_id, m.campaign_id,
                                   m.email_account_id));

CREATE TRIGGER pmail_refuse_held_updates AFTER UPDATE ON email_messages
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_updates(
        'status', 'updated', 'parent_message_id', 'parent_storage_key',
        'raw_size_bytes');
CREATE TRIGGER pmail_refuse_held_updates AFTER UPDATE ON email_content
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_updates(
        'search_vector', 'raw_size_bytes', 'compressed_size_bytes');
CREATE TRIGGER pmail_refuse_held_updates AFTER UPDATE ON attachments
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_updates();
CREATE TRIGGER pmail_refuse_held_updates AFTER UPDATE ON attachment_blobs
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_updates(
        'compressed_size_bytes');

-- TRUNCATE fires no row trigger: a table holding any held row refuses it whole (so
-- does TRUNCATE … CASCADE, which fires this for every table it would empty).
CREATE FUNCTION pmail_refuse_held_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    held boolean;
BEGIN
    held := CASE TG_TABLE_NAME
        WHEN 'attachments' THEN
            EXISTS (SELECT 1 FROM attachments AS a
                    WHERE pmail_message_held(a.tenant_id, a.parent_storage_key))
        WHEN 'attachment_blobs' THEN
            EXISTS (SELECT 1 FROM attachments AS a
                    WHERE pmail_message_held(a.tenant_id, a.parent_storage_key))
        ELSE
            EXISTS (SELECT 1 FROM email_content AS c WHERE c.legal_hold)
            OR EXISTS (SELECT 1 FROM legal_holds AS h
                       JOIN email_messages AS m ON m.tenant_id = h.tenant_id
                       WHERE h.released IS NULL
                         AND pmail_hold_covers(h.scope, h.value, m.storage_key, m.lead_id,
                                               m.campaign_id, m.email_account_id))
    END;
    IF held THEN
        RAISE EXCEPTION '% holds mail under legal hold and cannot be truncated',
                        TG_TABLE_NAME
            USING ERRCODE = 'P0H01',
                  HINT = 'release the holds first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['email_messages', 'email_content', 'attachments',
                             'attachment_blobs']
    LOOP
        EXECUTE format('CREATE TRIGGER pmail_refuse_held_truncate BEFORE TRUNCATE ON %I '
                       'FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_truncate()',
                       t);
    END LOOP;
END
$$;

-- The delete guard of 0007 sees every tenant's holds whoever deletes, as the truncate
-- and update guards do (a role without SELECT on legal_holds can no longer blind it).
ALTER FUNCTION pmail_refuse_held_deletes() SECURITY DEFINER;
ALTER FUNCTION pmail_refuse_held_deletes() SET pmail.all_tenants = 'on';

-- A hold record changes only by being released (once); it is never deleted or
-- truncated.
CREATE FUNCTION pmail_keep_hold_records() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.released IS NULL
       AND (NEW.tenant_id, NEW.hold_id, NEW.scope, NEW.value, NEW.reason, NEW.created_by,
            NEW.created)
           IS NOT DISTINCT FROM
           (OLD.tenant_id, OLD.hold_id, OLD.scope, OLD.value, OLD.reason, OLD.created_by,
            OLD.created)
    THEN
        RETURN NEW;  -- a release (or nothing at all)
    END IF;
    RAISE EXCEPTION 'legal holds are released, never changed or removed'
        USING ERRCODE = 'P0H02', HINT = 'use `pmail hold release ID`';
END
$$;
CREATE TRIGGER pmail_keep_hold_records BEFORE UPDATE ON legal_holds
    FOR EACH ROW EXECUTE FUNCTION pmail_keep_hold_records();
CREATE TRIGGER pmail_keep_holds_truncate BEFORE TRUNCATE ON legal_holds
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_keep_holds();

-- The roles, and what each may do (pmail_grant_app_role is called again by `pmail
-- tenant login` and by every migration that adds a table):
--   pmail_app      tenant logins (read and write their tenant's rows)
--   pmail_reader   read-only tenant logins (`pmail tenant login --read-only`)
--   pmail_analyst  trusted, read-only: every tenant when it sets pmail.all_tenants
--   pmail_admin    trusted, read and write: pmail's commands as a role that is not
--                  the owner
-- Trust (the settings) and rights (the grants) are separate: a role needs both.
CREATE OR REPLACE FUNCTION pmail_grant_app_role() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    rel record;
    grp text;
    schema_name text := (SELECT n.nspname FROM pg_class AS c
                         JOIN pg_namespace AS n ON n.oid = c.relnamespace
                         WHERE c.oid = 'email_messages'::regclass);
    read_only text[] := ARRAY['tenants', 'legal_holds', 'migration_anomalies'];
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
SELECT pmail_grant_app_role();

-- Objects in pmail's schema are trusted only if nobody else can make them: nobody but
-- the schema's owner creates there (PostgreSQL 15 and later do this for `public` in a
-- new database; older servers and other schemas may not have).
DO $$
BEGIN
    EXECUTE format('REVOKE CREATE ON SCHEMA %I FROM PUBLIC', current_schema());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'could not revoke CREATE on schema % from PUBLIC (% does not own it); '
                 'an administrator should', current_schema(), current_user;
END
$$;

-- Every function of pmail's written in PL/pgSQL (or as plain SQL text) resolves its
-- names on a fixed path, pg_temp last: pmail's schema, then the catalog. Read from
-- the catalog, so a function added before this migration cannot be left out;
-- migrations after it call pmail_pin_search_paths() again (a test checks).
CREATE FUNCTION pmail_pin_search_paths() RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    f record;
    pinned integer := 0;
    path text;
BEGIN
    FOR f IN
        SELECT p.oid::regprocedure AS sig, n.nspname
        FROM pg_proc AS p JOIN pg_namespace AS n ON n.oid = p.pronamespace
        JOIN pg_language AS l ON l.oid = p.prolang
        WHERE n.oid = (SELECT c.relnamespace FROM pg_class AS c
                       WHERE c.oid = 'email_messages'::regclass)
          AND l.lanname IN ('sql', 'plpgsql') AND p.prosqlbody IS NULL
    LOOP
        path := format('%I, pg_catalog, pg_temp', f.nspname);
        EXECUTE format('ALTER FUNCTION %s SET search_path = %s', f.sig, path);
        pinned := pinned + 1;
    END LOOP;
    RETURN pinned;
END
$$;
SELECT pmail_pin_search_paths();
