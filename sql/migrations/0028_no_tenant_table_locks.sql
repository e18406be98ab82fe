-- A tenant login can no longer lock a whole table. pmail_app held table-wide UPDATE and
-- DELETE on every table it writes, and PostgreSQL lets a role holding either take
-- LOCK TABLE ... IN ACCESS EXCLUSIVE MODE (row-level security does not apply to table
-- locks): one tenant's login could stop every tenant's reads and writes of
-- email_messages for as long as it kept its transaction open. LOCK TABLE in any mode
-- above ROW EXCLUSIVE needs table-wide UPDATE, DELETE or TRUNCATE; UPDATE of columns
-- does not count. So pmail_app now gets UPDATE of each column (every column, as
-- before) and no DELETE; what pmail deletes as a tenant goes through the SECURITY
-- DEFINER functions below, each limited to the tenant its caller writes for.
-- What a tenant login may still lock: ACCESS SHARE (SELECT) and ROW EXCLUSIVE
-- (INSERT), which conflict with no lock another tenant's reads or writes take
-- (docs/security.md).

-- Whether the session may delete rows of `tenant` (NULL: of every tenant), as
-- pmail_session_binding decides a scope but for the login (session_user), which is
-- all a SECURITY DEFINER function knows of its caller:
-- * a login bound to a tenant: its own tenant, and only if it writes (pmail_app);
-- * a trusted login (superuser, member of the tables' owner or of pmail_admin; not
--   pmail_analyst, which only reads): any tenant, or all;
-- * another login: a tenant bound to a writing role it may SET ROLE to.
-- Raises 42501 otherwise. Called only from the functions below (as their owner).
CREATE FUNCTION pmail_check_delete_right(tenant uuid) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    who name := session_user;
    bound uuid := pmail_role_tenant(session_user);
    writers oid := (SELECT a.oid FROM pg_roles AS a WHERE a.rolname = 'pmail_app');
BEGIN
    IF bound IS NOT NULL THEN
        IF bound = tenant AND writers IS NOT NULL
           AND pg_has_role(who, writers, 'USAGE') THEN
            RETURN;
        END IF;
    ELSIF (SELECT u.rolsuper FROM pg_roles AS u WHERE u.rolname = who)
          OR pg_has_role(who, (SELECT c.relowner FROM pg_class AS c
                               WHERE c.oid = 'email_messages'::regclass), 'MEMBER')
          OR EXISTS (SELECT 1 FROM pg_roles AS a
                     WHERE a.rolname = 'pmail_admin'
                       AND pg_has_role(who, a.oid, 'MEMBER')) THEN
        RETURN;
    ELSIF tenant IS NOT NULL AND writers IS NOT NULL AND EXISTS (
              SELECT 1 FROM pmail_tenant_roles AS r
              JOIN pg_roles AS l ON l.oid = r.role_oid AND l.rolname = r.role_name
              WHERE r.tenant_id = tenant
                AND pg_has_role(who, l.oid, 'MEMBER')
                AND pg_has_role(l.oid, writers, 'USAGE')) THEN
        RETURN;
    END IF;
    RAISE EXCEPTION 'role % may not delete rows of tenant %', who,
                    coalesce(tenant::text, '(all tenants)')
        USING ERRCODE = '42501',
              HINT = 'connect as that tenant''s writing login or as an administrator';
END
$$;

-- The deletes pmail makes as a tenant (sql/queries/...), each for one tenant (NULL:
-- every tenant, for a trusted login only); parameters by position, so that no
-- column can be read in place of one. Row-level security applies inside them as
-- well (it is forced on the owner): a bound login still sees its own tenant only.

-- analytics/clear_rollups: forget a tenant's rollups before they are rebuilt.
CREATE FUNCTION pmail_clear_rollups(tenant uuid) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    DELETE FROM message_rollups AS m WHERE $1 IS NULL OR m.tenant_id = $1;
    DELETE FROM storage_rollups AS s WHERE $1 IS NULL OR s.tenant_id = $1;
END;

-- suppressions/clear_suppressions: forget a tenant's suppressions before they are
-- rebuilt.
CREATE FUNCTION pmail_clear_suppressions(tenant uuid) RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    DELETE FROM suppressions AS s WHERE $1 IS NULL OR s.tenant_id = $1;
END;

-- imap/forget_refused: refused messages stored since, or gone from the folder, and
-- every one recorded under another UIDVALIDITY.
CREATE FUNCTION pmail_forget_imap_refused(tenant uuid, account uuid, folder_name text,
                                          validity bigint, uids bigint[])
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    DELETE FROM imap_refused AS r
    WHERE r.tenant_id = $1 AND r.email_account_id = $2 AND r.folder = $3
      AND (r.uidvalidity <> $4 OR r.uid = ANY ($5));
END;

-- imap/forget_stale_memberships: folder memberships of an older UIDVALIDITY.
CREATE FUNCTION pmail_forget_imap_memberships(tenant uuid, account uuid,
                                              folder_name text, validity bigint)
RETURNS void
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    DELETE FROM imap_messages AS m
    WHERE m.tenant_id = $1 AND m.email_account_id = $2 AND m.folder = $3
      AND m.uidvalidity <> $4;
END;

-- retention/purge_content: delete the content of some of a tenant's messages
-- (attachment rows go with it); returns the stored size of each.
CREATE FUNCTION pmail_delete_content(tenant uuid, keys text[]) RETURNS SETOF bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    DELETE FROM email_content AS c
    WHERE c.tenant_id = $1 AND c.storage_key = ANY ($2)
    RETURNING c.compressed_size_bytes;
END;

-- retention/delete_unreferenced_blobs: a tenant's stored files (among `hashes`; NULL:
-- all) that no attachment row refers to; returns the stored size of each.
CREATE FUNCTION pmail_delete_unreferenced_blobs(tenant uuid, hashes bytea[])
RETURNS SETOF bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    DELETE FROM attachment_blobs AS b
    WHERE ($1 IS NULL OR b.tenant_id = $1)
      AND ($2 IS NULL OR b.sha256 = ANY ($2))
      AND NOT EXISTS (SELECT 1 FROM attachments AS a
                      WHERE a.tenant_id = b.tenant_id AND a.sha256 = b.sha256)
    RETURNING b.compressed_size_bytes;
END;

-- search_documents of a tenant (NULL: every tenant) whose search is off; returns how
-- many went. pmail_sync_search_documents (`validate --repair`, `tenant set`) calls it.
CREATE FUNCTION pmail_drop_search_documents(tenant uuid) RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    WITH gone AS (
        DELETE FROM search_documents AS d USING tenants AS t
        WHERE t.tenant_id = d.tenant_id AND NOT t.search_index
          AND ($1 IS NULL OR d.tenant_id = $1)
        RETURNING 1
    )
    SELECT count(*) FROM gone;
END;

-- As 0020, the documents of tenants with search off dropped through the function above.
CREATE OR REPLACE FUNCTION pmail_sync_search_documents(tenant uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    dropped bigint := pmail_drop_search_documents(tenant);
    cleared bigint;
    built bigint := 0;
    part record;
BEGIN
    UPDATE email_content AS c SET search_vector = NULL
    FROM tenants AS t
    WHERE t.tenant_id = c.tenant_id AND NOT t.search_index
      AND c.search_vector IS NOT NULL AND (tenant IS NULL OR c.tenant_id = tenant);
    GET DIAGNOSTICS cleared = ROW_COUNT;
    FOR part IN
        SELECT m.tenant_id, array_agg(m.storage_key::text) AS keys
        FROM email_messages AS m
        JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
        JOIN tenants AS t ON t.tenant_id = m.tenant_id AND t.search_index
        LEFT JOIN search_documents AS d
            ON d.tenant_id = m.tenant_id AND d.storage_key = m.storage_key
        WHERE (tenant IS NULL OR m.tenant_id = tenant)
          AND (d.storage_key IS NULL
               OR d.date <> coalesce(m.sent_at, m.created)
               OR d.message_type <> m.message_type OR d.direction <> m.direction)
        GROUP BY m.tenant_id
    LOOP
        built := built + pmail_put_search_documents(part.tenant_id, part.keys);
    END LOOP;
    -- a document not yet moved (search_move) is moved now: built above
    UPDATE email_content AS c SET search_vector = NULL
    FROM search_documents AS d
    WHERE d.tenant_id = c.tenant_id AND d.storage_key = c.storage_key
      AND c.search_vector IS NOT NULL AND (tenant IS NULL OR c.tenant_id = tenant);
    RETURN dropped + cleared + built;
END
$$;

-- As 0016, as the owner: the suppression triggers call it in a tenant login's batch,
-- and its first step deletes. The statements are built from constant text only.
CREATE OR REPLACE FUNCTION pmail_refresh_suppressions(tenant uuid, addresses text[])
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    which text := CASE WHEN addresses IS NULL THEN 'tenant_id = $1'
                       ELSE 'tenant_id = $1 AND address = ANY ($2)' END;
BEGIN
    PERFORM pmail_check_delete_right(tenant);
    EXECUTE 'DELETE FROM suppressions WHERE ' || which USING tenant, addresses;
    EXECUTE 'INSERT INTO suppressions (tenant_id, address, reason, detail, evidence, '
            'first_key, first_at, last_key, last_at, campaign_id, lead_id) '
            'SELECT tenant_id, address, reason, detail, evidence, first_key, first_at, '
            'last_key, last_at, campaign_id, lead_id FROM suppressions_expected WHERE '
            || which USING tenant, addresses;
END
$$;

-- Only pmail's roles call them (an untrusted, unbound login is refused inside anyway).
DO $$
DECLARE
    f text;
    grp text;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'pmail_check_delete_right(uuid)', 'pmail_clear_rollups(uuid)',
        'pmail_clear_suppressions(uuid)',
        'pmail_forget_imap_refused(uuid, uuid, text, bigint, bigint[])',
        'pmail_forget_imap_memberships(uuid, uuid, text, bigint)',
        'pmail_delete_content(uuid, text[])',
        'pmail_delete_unreferenced_blobs(uuid, bytea[])',
        'pmail_drop_search_documents(uuid)',
        'pmail_refresh_suppressions(uuid, text[])']
    LOOP
        EXECUTE format('REVOKE EXECUTE ON FUNCTION %s FROM PUBLIC', f);
        CONTINUE WHEN f LIKE 'pmail_check_delete_right%';
        FOREACH grp IN ARRAY ARRAY['pmail_app', 'pmail_admin']
        LOOP
            CONTINUE WHEN NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = grp);
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, grp);
        END LOOP;
    END LOOP;
END
$$;

-- As 0027, but pmail_app gets UPDATE of every column instead of the table, and no
-- DELETE. A migration that adds a column to a table pmail_app writes calls this
-- again (tests/db/test_isolation.py checks every column is covered).
CREATE OR REPLACE FUNCTION pmail_grant_app_role() RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    rel record;
    grp text;
    cols text;
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
        SELECT c.oid, c.relname, c.relkind FROM pg_class AS c
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
            ELSIF grp IN ('pmail_reader', 'pmail_analyst') OR rel.relkind = 'v'
                  OR (grp = 'pmail_app' AND rel.relname = ANY (read_only)) THEN
                EXECUTE format('GRANT SELECT ON %I.%I TO %I',
                               schema_name, rel.relname, grp);
            ELSIF grp = 'pmail_app' THEN
                -- every column, not the table: table-wide UPDATE or DELETE would let
                -- a tenant login LOCK TABLE it, and so stop every tenant
                SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum)
                INTO cols FROM pg_attribute AS a
                WHERE a.attrelid = rel.oid AND a.attnum > 0 AND NOT a.attisdropped;
                EXECUTE format('REVOKE UPDATE, DELETE ON %I.%I FROM %I',
                               schema_name, rel.relname, grp);
                EXECUTE format('GRANT SELECT, INSERT, UPDATE (%s) ON %I.%I TO %I',
                               cols, schema_name, rel.relname, grp);
            ELSE
                EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I.%I TO %I',
                               schema_name, rel.relname, grp);
            END IF;
        END LOOP;
    END LOOP;
    RETURN EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_app');
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
