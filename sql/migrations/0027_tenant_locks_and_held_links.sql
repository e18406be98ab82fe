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

-- Held mail's status and links. pmail moves an outbound message's status only up its
-- ladder (sent < auto_replied < replied < bounced < complained: linking/
-- update_parent_status.sql) and fills a reply's parent link once (linking/*.sql), but
-- the update guard let every session, a tenant login included, set a held message's
-- status and links to anything: a held message that bounced could be made `sent`
-- again and its bounce unlinked from it. Now the status of held mail only climbs and
-- its parent link is fill-only, like its lead and campaign: the guard as 0023 left it,
-- with the two link columns among the fill-only ones and the ladder checked.
CREATE OR REPLACE FUNCTION pmail_refuse_held_updates() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    movable text[] := TG_ARGV;
    fill_only text[] := ARRAY['lead_id', 'campaign_id', 'email_account_id',
                              'content_html', 'headers', 'unsubscribe',
                              'parent_storage_key', 'parent_message_id'];
    -- a message's status moves only up the ladder, as pmail moves it
    ladder text := CASE TG_TABLE_NAME WHEN 'email_messages'
                        THEN '(o.status IS NOT DISTINCT FROM n.status OR '
                             'pmail_status_rank(n.status) > pmail_status_rank(o.status))'
                        ELSE 'true' END;
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
                          WHERE %s AND %s AND %s AND %s AND %s)
        LIMIT 1
    $q$,
        CASE TG_TABLE_NAME WHEN 'attachments' THEN 'o.parent_storage_key'
                           WHEN 'attachment_blobs' THEN 'encode(o.sha256, ''hex'')'
                           ELSE 'o.storage_key' END,
        held_by,
        (SELECT string_agg(format('n.%1$I = o.%1$I', k), ' AND ') FROM unnest(identity) AS k),
        coalesce(same, 'true'), filled, flag, ladder)
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

DROP TRIGGER pmail_refuse_held_updates ON email_messages;
CREATE TRIGGER pmail_refuse_held_updates AFTER UPDATE ON email_messages
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_updates(
        'status', 'updated', 'raw_size_bytes');

SELECT pmail_pin_search_paths();

-- A binding names the role it was made for, not only its name. Bindings were kept by
-- name, and DROP ROLE leaves pmail_tenant_roles as it is: the next role of a dropped
-- login's name on the server (another pmail database's `tenant login` of a tenant
-- with the same name, in pmail_app, or any role made later) logged in here as that
-- tenant's login. role_oid is the oid of the role bound; a role of the name with
-- another oid is bound to nothing until `pmail tenant login` binds it again.
-- Existing bindings take the oid of the role of their name now.
ALTER TABLE pmail_tenant_roles ADD COLUMN role_oid oid;
UPDATE pmail_tenant_roles AS t SET role_oid = r.oid
FROM pg_roles AS r WHERE r.rolname = t.role_name;

CREATE OR REPLACE FUNCTION pmail_role_tenant(role_name name) RETURNS uuid
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT r.tenant_id FROM pmail_tenant_roles AS r
    JOIN pg_roles AS l ON l.oid = r.role_oid AND l.rolname = r.role_name
    WHERE r.role_name = $1;
END;
