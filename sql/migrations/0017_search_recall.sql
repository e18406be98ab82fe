-- Recall of `pmail search` (docs/search.md): the names and addresses of a message's
-- From, To and Cc are words of its document (a plain `globex` finds mail from
-- bob@globex.com), and each tenant chooses the text search configuration its
-- documents and queries use (`pmail tenant set NAME --search-language english`;
-- `simple`, no stemming, stays the default). Stored mail gets the new documents
-- through a backfill (pmail_backfills), in committed batches.
SELECT set_config('pmail.all_tenants', 'on', true);

-- The tenant's text search configuration, a name in pg_ts_config (pg_catalog's own:
-- `pmail tenant set` checks it; the cast to regconfig at every use refuses others).
ALTER TABLE tenants ADD COLUMN search_language text NOT NULL DEFAULT 'simple';

-- The words of the From, To and Cc fields: the sender's display name, the To and Cc
-- display names (from the headers column, when the tenant keeps it: docs/sql.md), each
-- address whole (a query `bob@globex.com` is one word), and each address split at
-- `@`, dots, dashes, underscores and `+` (`bob`, `globex`, `com`).
CREATE FUNCTION pmail_search_names(from_name text, from_email text, to_email text,
                                   cc_email text, headers jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN concat_ws(' ',
    from_name,
    regexp_replace(
        (SELECT string_agg(v.value, ' ')
         FROM (VALUES ('to'), ('cc')) AS f (field),
              jsonb_array_elements_text(CASE jsonb_typeof(headers -> f.field)
                  WHEN 'array' THEN headers -> f.field
                  WHEN 'string' THEN jsonb_build_array(headers -> f.field)
                  ELSE '[]'::jsonb END) AS v (value)),
        '<[^>]*>', ' ', 'g'),
    replace(concat_ws(',', from_email, to_email, cc_email), ',', ' '),
    regexp_replace(concat_ws(',', from_email, to_email, cc_email), '[@.,_+-]+', ' ', 'g'));

-- The document in the tenant's configuration: subject A, attachment file names B, DSN
-- diagnostics C, body D, and the names and addresses D as well (the lowest weight:
-- a word in the subject or body ranks as it did).
CREATE FUNCTION pmail_search_vector(language regconfig, subject text, filenames text,
                                    diagnostics text, body text, names text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector(language, pmail_search_text(subject)), 'A')
    || setweight(to_tsvector(language,
           regexp_replace(pmail_search_text(filenames), '[._-]+', ' ', 'g')), 'B')
    || setweight(to_tsvector(language, pmail_search_text(diagnostics)), 'C')
    || setweight(to_tsvector(language, pmail_search_text(body)), 'D')
    || setweight(to_tsvector(language, pmail_search_text(names)), 'D');

-- The query in the tenant's configuration (the same shape as the `simple` one of 0009).
CREATE FUNCTION pmail_search_query(language regconfig, words text, subjects text[],
                                   filenames text[])
RETURNS tsquery
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    q tsquery;
    part tsquery;
    phrase text;
BEGIN
    IF coalesce(words, '') <> '' THEN
        q := websearch_to_tsquery(language, pmail_search_text(words));
    END IF;
    FOREACH phrase IN ARRAY coalesce(subjects, '{}') LOOP
        part := pmail_search_weighted(phraseto_tsquery(language, pmail_search_text(phrase)), 'A');
        q := CASE WHEN q IS NULL THEN part ELSE q && part END;
    END LOOP;
    FOREACH phrase IN ARRAY coalesce(filenames, '{}') LOOP
        part := pmail_search_weighted(phraseto_tsquery(language, pmail_search_text(phrase)), 'B');
        q := CASE WHEN q IS NULL THEN part ELSE q && part END;
    END LOOP;
    RETURN q;
END
$$;

-- The snippet, the body parsed in the tenant's configuration (so that a stemmed
-- query word is marked where the body has another form of it).
CREATE FUNCTION pmail_search_snippet(language regconfig, body text, q tsquery,
                                     mark_start text, mark_stop text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN q IS NULL OR body IS NULL THEN NULL
    ELSE regexp_replace(
        ts_headline(language, left(body, 20000), q,
            format('StartSel=%s, StopSel=%s, MaxWords=16, MinWords=6, '
                   'MaxFragments=1, FragmentDelimiter=" … "',
                   quote_ident(mark_start), quote_ident(mark_stop))),
        '\s+', ' ', 'g')
    END;

-- The document of a stored message, as the writer builds it for a new one.
CREATE OR REPLACE FUNCTION pmail_stored_search_vector(tenant uuid, key text)
RETURNS tsvector
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT pmail_search_vector(t.search_language::regconfig, m.subject,
        (SELECT string_agg(a.filename, ' ' ORDER BY a.part_index) FROM attachments AS a
         WHERE a.tenant_id = tenant AND a.parent_storage_key = key),
        (SELECT string_agg(f.diagnostic_code, ' ' ORDER BY f.recipient_index)
         FROM delivery_facts AS f WHERE f.tenant_id = tenant AND f.storage_key = key),
        c.content_text,
        pmail_search_names(m.from_name, m.from_email, m.to_email, m.cc_email, c.headers))
    FROM email_messages AS m
    JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
    JOIN tenants AS t ON t.tenant_id = m.tenant_id
    WHERE m.tenant_id = tenant AND m.storage_key = key;
END;

-- One batch of a rebuild of search documents: `search_rebuild` (every tenant: this
-- migration's, for the names and addresses) or `search_rebuild:<tenant_id>` (one
-- tenant: `pmail tenant set --search-language`). The next `batch` content rows in key
-- order get their document built again (dropped when the tenant has search off) and
-- the cursor moves past them, in the caller's transaction; the row goes when the end
-- is reached. Returns how many rows it looked at.
CREATE FUNCTION pmail_backfill_search_rebuild(backfill text, batch integer)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    only_tenant uuid := nullif(split_part(backfill, ':', 2), '')::uuid;
    cursor_tenant uuid;
    cursor_key text;
    last_tenant uuid;
    last_key text;
    seen integer;
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
    UPDATE email_content AS c
    SET search_vector = CASE
        WHEN t.search_index THEN pmail_stored_search_vector(c.tenant_id, c.storage_key)
    END
    FROM pmail_backfill_keys AS k, tenants AS t
    WHERE c.tenant_id = k.tenant_id AND c.storage_key = k.storage_key
      AND t.tenant_id = c.tenant_id;
    IF seen < batch THEN
        DELETE FROM pmail_backfills WHERE name = backfill;
    ELSE
        SELECT tenant_id, storage_key INTO last_tenant, last_key
        FROM pmail_backfill_keys ORDER BY tenant_id DESC, storage_key DESC LIMIT 1;
        UPDATE pmail_backfills SET after_tenant = last_tenant, after_key = last_key
        WHERE name = backfill;
    END IF;
    RETURN seen;
END
$$;

-- Stored mail gets documents with its names and addresses (`pmail init-db` runs it),
-- unless the search-document backfill of 0009 is listed and not started: that one
-- builds every document with the definition above already.
INSERT INTO pmail_backfills (name)
SELECT 'search_rebuild'
WHERE EXISTS (SELECT 1 FROM email_content)
  AND NOT EXISTS (SELECT 1 FROM pmail_backfills
                  WHERE name = 'search_documents' AND after_key IS NULL);

SELECT pmail_grant_app_role();
SELECT pmail_pin_search_paths();
