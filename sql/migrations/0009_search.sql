-- Search (`pmail list`, `pmail search`, docs/search.md): a full-text document per
-- message kept in email_content, written by the batch writer in the batch's
-- transaction, plus the indexes the filters need, tenant first where a b-tree can be.
SELECT set_config('pmail.all_tenants', 'on', true);  -- the backfill below sees every tenant

-- A tenant can do without the full-text index (it costs storage: docs/search.md).
ALTER TABLE tenants ADD COLUMN search_index boolean NOT NULL DEFAULT true;

-- Text as the index sees it: the first 100,000 characters (a tsvector holds at most
-- 1 MB, and positions stop at 16,383), with every CJK character made a word of its
-- own, so that Japanese or Chinese text, written without spaces, is found by any word
-- in it (a query phrase of single characters: docs/search.md).
CREATE FUNCTION pmail_search_text(t text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN s ~ '[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef]'
        THEN regexp_replace(s,
            '([\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef])',
            ' \1 ', 'g')
        ELSE s
    END
    FROM (SELECT left(coalesce(t, ''), 100000) AS s) AS x
$$;

-- The document: subject words weigh A, attachment file names B, the diagnostic text
-- of a DSN's recipients C (what the remote server said), body words D
-- (`subject:` and `filename:` match only their weight; ranking prefers the subject).
-- A file name is split at dots, dashes and underscores (the parser would otherwise
-- keep 'pricing.pdf' as one word).
CREATE FUNCTION pmail_search_vector(subject text, filenames text, diagnostics text,
                                    body text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('simple', pmail_search_text(subject)), 'A')
        || setweight(to_tsvector('simple',
               regexp_replace(pmail_search_text(filenames), '[._-]+', ' ', 'g')), 'B')
        || setweight(to_tsvector('simple', pmail_search_text(diagnostics)), 'C')
        || setweight(to_tsvector('simple', pmail_search_text(body)), 'D')
$$;

-- A query restricted to one weight: every lexeme of `q` must carry it.
CREATE FUNCTION pmail_search_weighted(q tsquery, weight text) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT regexp_replace(q::text, '(''(?:[^'']|'''')*'')', '\1:' || weight, 'g')::tsquery
$$;

-- What `pmail search` looks for, as one tsquery: the free text (websearch syntax:
-- words, "phrases", OR, -word), every `subject:` phrase among the subject's words,
-- every `filename:` phrase among the attachment names. NULL when there is nothing.
CREATE FUNCTION pmail_search_query(words text, subjects text[], filenames text[])
RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    q tsquery;
    part tsquery;
    phrase text;
BEGIN
    IF coalesce(words, '') <> '' THEN
        q := websearch_to_tsquery('simple', pmail_search_text(words));
    END IF;
    FOREACH phrase IN ARRAY coalesce(subjects, '{}') LOOP
        part := pmail_search_weighted(phraseto_tsquery('simple', pmail_search_text(phrase)), 'A');
        q := CASE WHEN q IS NULL THEN part ELSE q && part END;
    END LOOP;
    FOREACH phrase IN ARRAY coalesce(filenames, '{}') LOOP
        part := pmail_search_weighted(phraseto_tsquery('simple', pmail_search_text(phrase)), 'B');
        q := CASE WHEN q IS NULL THEN part ELSE q && part END;
    END LOOP;
    RETURN q;
END
$$;

-- A few words of the body around the first match, the matched words between the
-- marks (only the first 20,000 characters are read: ts_headline parses all it gets).
CREATE FUNCTION pmail_search_snippet(body text, q tsquery, mark_start text, mark_stop text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN q IS NULL OR body IS NULL THEN NULL
    ELSE regexp_replace(
        ts_headline('simple', left(body, 20000), q,
            format('StartSel=%s, StopSel=%s, MaxWords=16, MinWords=6, '
                   'MaxFragments=1, FragmentDelimiter=" … "',
                   quote_ident(mark_start), quote_ident(mark_stop))),
        '\s+', ' ', 'g')
    END
$$;

-- Addresses as search tokens: 'from:bob@example.com', 'from:@example.com' (the
-- domain), 'from:bob@' (the local part), the same for to: and cc: (to_email and
-- cc_email are comma-joined lists).
CREATE FUNCTION pmail_address_tokens(from_email text, to_email text, cc_email text)
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_agg(DISTINCT f.field || ':' || t.token)
    FROM (VALUES ('from', from_email), ('to', to_email), ('cc', cc_email)) AS f (field, list),
         unnest(string_to_array(lower(f.list), ',')) AS a (item),
         LATERAL (SELECT btrim(a.item) AS addr) AS b,
         LATERAL (VALUES (b.addr),
                         ('@' || nullif(split_part(b.addr, '@', 2), '')),
                         (nullif(split_part(b.addr, '@', 1), '') || '@'))
             AS t (token)
    WHERE b.addr <> '' AND t.token IS NOT NULL
$$;

ALTER TABLE email_content ADD COLUMN search_vector tsvector;

-- The document of a stored message, as the writer builds it for a new one
-- (sql/queries/writer/insert_staged_content.sql, from the staged rows).
CREATE FUNCTION pmail_stored_search_vector(tenant uuid, key text) RETURNS tsvector
LANGUAGE sql STABLE AS $$
    SELECT pmail_search_vector(m.subject,
        (SELECT string_agg(a.filename, ' ' ORDER BY a.part_index) FROM attachments AS a
         WHERE a.tenant_id = tenant AND a.parent_storage_key = key),
        (SELECT string_agg(f.diagnostic_code, ' ' ORDER BY f.recipient_index)
         FROM delivery_facts AS f WHERE f.tenant_id = tenant AND f.storage_key = key),
        c.content_text)
    FROM email_messages AS m
    JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
    WHERE m.tenant_id = tenant AND m.storage_key = key
$$;

-- Bring documents in line with their tenants' setting: build the missing ones of
-- tenants with search on, drop those of tenants with it off. NULL: every tenant the
-- session sees. `pmail tenant set --search` and `pmail validate --repair` call it.
CREATE FUNCTION pmail_sync_search_documents(tenant uuid) RETURNS bigint
LANGUAGE sql AS $$
    WITH changed AS (
        UPDATE email_content AS c
        SET search_vector = CASE
            WHEN t.search_index THEN pmail_stored_search_vector(c.tenant_id, c.storage_key)
        END
        FROM tenants AS t
        WHERE t.tenant_id = c.tenant_id
          AND (tenant IS NULL OR c.tenant_id = tenant)
          AND (c.search_vector IS NULL) = t.search_index
        RETURNING 1
    )
    SELECT count(*) FROM changed
$$;

-- Stored mail gets its documents after the migration, in batches that each commit,
-- so a large database is not rewritten in one transaction and a killed upgrade goes
-- on where it stopped: `pmail init-db` (and the embedded server's upgrade) runs every
-- backfill listed here to its end (migrations.run_backfills).
CREATE TABLE pmail_backfills (
    name         text        PRIMARY KEY,
    after_tenant uuid,          -- the last (tenant, key) done; NULL: from the start
    after_key    varchar(500),
    started      timestamptz NOT NULL DEFAULT now()
);
INSERT INTO pmail_backfills (name) VALUES ('search_documents');

-- One batch of the search-document backfill: the next `batch` content rows in key
-- order are brought in line with their tenant's setting and the cursor moves past
-- them, in the caller's transaction; the row goes when the end is reached. Returns
-- how many rows it looked at (0: nothing left).
CREATE FUNCTION pmail_backfill_search_documents(batch integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    cursor_tenant uuid;
    cursor_key text;
    last_tenant uuid;
    last_key text;
    seen integer;
BEGIN
    SELECT after_tenant, after_key INTO cursor_tenant, cursor_key
    FROM pmail_backfills WHERE name = 'search_documents' FOR UPDATE;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    CREATE TEMP TABLE IF NOT EXISTS pmail_backfill_keys
        (tenant_id uuid, storage_key varchar(500)) ON COMMIT DROP;
    DELETE FROM pmail_backfill_keys;
    INSERT INTO pmail_backfill_keys
    SELECT c.tenant_id, c.storage_key FROM email_content AS c
    WHERE cursor_tenant IS NULL OR (c.tenant_id, c.storage_key) > (cursor_tenant, cursor_key)
    ORDER BY c.tenant_id, c.storage_key
    LIMIT batch;
    GET DIAGNOSTICS seen = ROW_COUNT;
    UPDATE email_content AS c
    SET search_vector = CASE
        WHEN t.search_index THEN pmail_stored_search_vector(c.tenant_id, c.storage_key)
    END
    FROM pmail_backfill_keys AS k, tenants AS t
    WHERE c.tenant_id = k.tenant_id AND c.storage_key = k.storage_key
      AND t.tenant_id = c.tenant_id AND (c.search_vector IS NULL) = t.search_index;
    IF seen < batch THEN
        DELETE FROM pmail_backfills WHERE name = 'search_documents';
    ELSE
        SELECT tenant_id, storage_key INTO last_tenant, last_key
        FROM pmail_backfill_keys ORDER BY tenant_id DESC, storage_key DESC LIMIT 1;
        UPDATE pmail_backfills SET after_tenant = last_tenant, after_key = last_key
        WHERE name = 'search_documents';
    END IF;
    RETURN seen;
END
$$;

CREATE INDEX idx_email_content_search ON email_content USING gin (search_vector);

-- The message's date: when it says it was sent, else when pmail stored it.
CREATE INDEX idx_email_messages_date
    ON email_messages (tenant_id, (coalesce(sent_at, created)) DESC, storage_key DESC);
CREATE INDEX idx_email_messages_type ON email_messages (tenant_id, message_type);
CREATE INDEX idx_email_messages_addresses
    ON email_messages USING gin (pmail_address_tokens(from_email, to_email, cc_email));
CREATE INDEX idx_delivery_facts_reason ON delivery_facts (tenant_id, reason);
CREATE INDEX idx_attachments_mime_type ON attachments (tenant_id, lower(mime_type));
