-- The full-text document moves out of email_content (about 3.7 KB a row with the body
-- and raw form: 3.7 GB at a million messages) into a narrow table of its own with the
-- message facts a search filters and orders by (date, type, direction), so that a
-- search reads its candidates, their dates and their documents from one small table
-- and its indexes instead of a row of each wide table per candidate (issue 27,
-- docs/performance.md). The batch writer fills it in the batch's transaction; it goes
-- with its content row (purge, retention, tenant deletion). Stored mail is moved by a
-- backfill (`search_move`, committed batches); until it ends, search reads both
-- places (docs/search.md).
SELECT set_config('pmail.all_tenants', 'on', true);  -- the move below sees every tenant

CREATE TABLE search_documents (
    tenant_id    uuid         NOT NULL,
    storage_key  varchar(500) NOT NULL,
    date         timestamptz  NOT NULL,  -- the message's: sent, else stored
    message_type text         NOT NULL,
    direction    text         NOT NULL,
    document     tsvector     NOT NULL,
    PRIMARY KEY (tenant_id, storage_key),
    FOREIGN KEY (tenant_id, storage_key) REFERENCES email_content (tenant_id, storage_key)
        ON DELETE CASCADE
);
-- newest first within a tenant (a common word, a phrase: the walk by date)
CREATE INDEX idx_search_documents_date ON search_documents (tenant_id, date, storage_key);
CREATE INDEX idx_search_documents_document ON search_documents USING gin (document)
    WITH (gin_pending_list_limit = 64);  -- as the one it replaces (0013)

ALTER TABLE search_documents ENABLE ROW LEVEL SECURITY;
ALTER TABLE search_documents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON search_documents
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())))
    WITH CHECK (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));

-- Whether stored documents are still being moved (search then reads those left in
-- email_content too). SECURITY DEFINER: tenant logins do not read pmail_backfills.
-- It says yes or no, nothing of any tenant's (reviewed: tests/db/test_trust.py).
CREATE FUNCTION pmail_search_moving() RETURNS boolean
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
RETURN EXISTS (SELECT 1 FROM pmail_backfills WHERE name = 'search_move');

-- The document of a stored message's search_documents row, with its facts; NULL
-- unless its tenant has search on.
CREATE FUNCTION pmail_put_search_documents(tenant uuid, keys text[]) RETURNS bigint
LANGUAGE sql AS $$
    WITH put AS (
        INSERT INTO search_documents AS d (tenant_id, storage_key, date, message_type,
                                           direction, document)
        SELECT m.tenant_id, m.storage_key, coalesce(m.sent_at, m.created),
               m.message_type, m.direction,
               pmail_stored_search_vector(m.tenant_id, m.storage_key)
        FROM email_messages AS m
        JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
        JOIN tenants AS t ON t.tenant_id = m.tenant_id AND t.search_index
        WHERE m.tenant_id = tenant AND m.storage_key = ANY(keys)
        ON CONFLICT (tenant_id, storage_key) DO UPDATE
        SET date = excluded.date, message_type = excluded.message_type,
            direction = excluded.direction, document = excluded.document
        RETURNING 1
    )
    SELECT count(*) FROM put
$$;

-- Bring documents in line with their tenants' setting and their messages: build the
-- missing ones of tenants with search on (and those whose date, type or direction
-- differ from their message's), drop those of tenants with it off. NULL: every tenant
-- the session sees. `pmail tenant set --search` and `pmail validate --repair` call it.
CREATE OR REPLACE FUNCTION pmail_sync_search_documents(tenant uuid) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    dropped bigint;
    cleared bigint;
    built bigint := 0;
    part record;
BEGIN
    DELETE FROM search_documents AS d USING tenants AS t
    WHERE t.tenant_id = d.tenant_id AND NOT t.search_index
      AND (tenant IS NULL OR d.tenant_id = tenant);
    GET DIAGNOSTICS dropped = ROW_COUNT;
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

-- One batch of a document build in key order, shared by the backfills: the next
-- `batch` content rows after the cursor of backfill `backfill` (one tenant's when
-- `only_tenant` is set) get their search_documents row built again (dropped when the
-- tenant has search off) and any document left in email_content cleared; the cursor
-- moves past them in the caller's transaction, and the pmail_backfills row goes when
-- the end is reached. Returns how many rows it looked at.
CREATE FUNCTION pmail_search_documents_batch(backfill text, only_tenant uuid,
                                             batch integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cursor_tenant uuid;
    cursor_key text;
    last_tenant uuid;
    last_key text;
    seen integer;
    part record;
    waited text;
BEGIN
    SELECT after_tenant, after_key INTO cursor_tenant, cursor_key
    FROM pmail_backfills WHERE name = backfill FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS pmail_backfill_keys
        (tenant_id uuid, storage_key varchar(500)) ON COMMIT DROP;
    DELETE FROM pmail_backfill_keys;
    INSERT INTO pmail_backfill_keys
    SELECT c.tenant_id, c.storage_key FROM email_content AS c
    WHERE (only_tenant IS NULL OR c.tenant_id = only_tenant)
      AND (cursor_key IS NULL
           OR (c.tenant_id, c.storage_key) > (cursor_tenant, cursor_key))
    ORDER BY c.tenant_id, c.storage_key
    LIMIT batch;
    GET DIAGNOSTICS seen = ROW_COUNT;
    DELETE FROM search_documents AS d
    USING pmail_backfill_keys AS k, tenants AS t
    WHERE d.tenant_id = k.tenant_id AND d.storage_key = k.storage_key
      AND t.tenant_id = d.tenant_id AND NOT t.search_index;
    FOR part IN
        SELECT k.tenant_id, array_agg(k.storage_key::text) AS keys
        FROM pmail_backfill_keys AS k GROUP BY k.tenant_id
    LOOP
        PERFORM pmail_put_search_documents(part.tenant_id, part.keys);
    END LOOP;
    UPDATE email_content AS c SET search_vector = NULL
    FROM pmail_backfill_keys AS k
    WHERE c.tenant_id = k.tenant_id AND c.storage_key = k.storage_key
      AND c.search_vector IS NOT NULL;
    IF seen > 0 THEN
        SELECT tenant_id, storage_key INTO last_tenant, last_key
        FROM pmail_backfill_keys ORDER BY tenant_id DESC, storage_key DESC LIMIT 1;
        UPDATE pmail_backfills SET after_tenant = last_tenant, after_key = last_key
        WHERE name = backfill;
    END IF;
    IF seen < batch AND backfill = 'search_move' THEN
        -- every document is in search_documents: email_content's index holds none.
        -- Dropping it waits for every transaction that read email_content, and new
        -- ones queue behind it: at most 2 s, else (or when this role does not own the
        -- table) the move stays listed (search reads both places, still right) and
        -- the next `pmail init-db` tries again.
        waited := current_setting('lock_timeout');
        BEGIN
            PERFORM set_config('lock_timeout', '2s', true);
            DROP INDEX IF EXISTS idx_email_content_search;
            DELETE FROM pmail_backfills WHERE name = backfill;
        EXCEPTION WHEN lock_not_available OR insufficient_privilege THEN
            RAISE NOTICE 'search_move: email_content''s search index stays (busy, or % '
                         'does not own it) until the next pmail init-db', current_user;
        END;
        PERFORM set_config('lock_timeout', waited, true);
    ELSIF seen < batch THEN
        DELETE FROM pmail_backfills WHERE name = backfill;
    END IF;
    RETURN seen;
END
$$;

-- The backfills of 0009 (every document) and 0017 (names and addresses; a tenant's
-- new language) build search_documents rows now.
CREATE OR REPLACE FUNCTION pmail_backfill_search_documents(batch integer) RETURNS integer
LANGUAGE sql
RETURN pmail_search_documents_batch('search_documents', NULL, batch);

CREATE OR REPLACE FUNCTION pmail_backfill_search_rebuild(backfill text, batch integer)
RETURNS integer
LANGUAGE sql
RETURN pmail_search_documents_batch(
    backfill, nullif(split_part(backfill, ':', 2), '')::uuid, batch);

-- The move of stored documents: the same batches (a document is built again from the
-- stored message rather than copied, which also gives it its facts).
CREATE FUNCTION pmail_backfill_search_move(batch integer) RETURNS integer
LANGUAGE sql
RETURN pmail_search_documents_batch('search_move', NULL, batch);

-- A database with documents in email_content moves them (`pmail init-db` runs it);
-- until then search reads them there too, with email_content's GIN index. One without
-- drops that index now: the column stays, empty (no bytes in a row), for old readers.
INSERT INTO pmail_backfills (name)
SELECT 'search_move'
WHERE EXISTS (SELECT 1 FROM email_content WHERE search_vector IS NOT NULL);
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pmail_backfills WHERE name = 'search_move') THEN
        DROP INDEX idx_email_content_search;
    END IF;
END
$$;

SELECT pmail_grant_app_role();
SELECT pmail_pin_search_paths();
