-- Recall beside notmuch (issue 27, docs/search.md): a message's document also holds
-- what its text body does not say. The prepare step computes it (mail/searchtext.py)
-- and it is stored, so that every path that builds a document in SQL (the writer,
-- `tenant set --search on` and `--search-language`, validate --repair, the backfills)
-- builds the same one:
--   search_extra     the HTML alternative's words the text part lacks, the parts of
--                    addresses inside the body text, what calendar parts say;
--                    searched as the body is;
--   search_enclosed  the Subject, From/To and text of an enclosed message (a bounce's
--                    returned mail) and of returned headers; the lowest weight.
-- Both NULL for most mail, each at most 8,000 characters.
--
-- The weights move so that the enclosed text can rank below a body: subject A,
-- attachment file names B, DSN diagnostics, body, names and addresses and the extra
-- text C, the enclosed text D (search ranks with weights that keep a body word at a
-- tenth of a subject word, as before).
--
-- Stored mail gets both through a backfill in Python (`search_extra:stored`: it reads
-- each raw message), which also builds each document again with the new weights.
SELECT set_config('pmail.all_tenants', 'on', true);

ALTER TABLE email_content ADD COLUMN search_extra text,
                          ADD COLUMN search_enclosed text;

CREATE FUNCTION pmail_search_vector(language regconfig, subject text, filenames text,
                                    diagnostics text, body text, names text,
                                    extra text, enclosed text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN setweight(to_tsvector(language, pmail_search_text(subject)), 'A')
    || setweight(to_tsvector(language,
           regexp_replace(pmail_search_text(filenames), '[._-]+', ' ', 'g')), 'B')
    || setweight(to_tsvector(language, pmail_search_text(diagnostics)), 'C')
    || setweight(to_tsvector(language, pmail_search_text(body)), 'C')
    || setweight(to_tsvector(language, pmail_search_text(names)), 'C')
    || setweight(to_tsvector(language, pmail_search_text(left(extra, 8000))), 'C')
    || setweight(to_tsvector(language, pmail_search_text(left(enclosed, 8000))), 'D');

-- The six-argument form (0017) is the same document without the two texts.
CREATE OR REPLACE FUNCTION pmail_search_vector(language regconfig, subject text,
                                               filenames text, diagnostics text,
                                               body text, names text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN pmail_search_vector(language, subject, filenames, diagnostics, body, names,
                           NULL, NULL);

-- ts_rank's weights {D, C, B, A}: a subject word 1, a file name 0.4, a body word 0.1
-- (as before 0021, when the body was D at 0.1), an enclosed message's word 0.05.
CREATE FUNCTION pmail_search_weights() RETURNS real[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN '{0.05, 0.1, 0.4, 1.0}'::real[];

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
        pmail_search_names(m.from_name, m.from_email, m.to_email, m.cc_email, c.headers),
        c.search_extra, c.search_enclosed)
    FROM email_messages AS m
    JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
    JOIN tenants AS t ON t.tenant_id = m.tenant_id
    WHERE m.tenant_id = tenant AND m.storage_key = key;
END;

-- Like the document (search_vector), the two texts are a search cache rebuilt from the
-- raw message: held mail may have them written (the backfill below), its raw message
-- and every other column stay as the hold keeps them (0010's update guard).
DROP TRIGGER pmail_refuse_held_updates ON email_content;
CREATE TRIGGER pmail_refuse_held_updates AFTER UPDATE ON email_content
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_updates(
        'search_vector', 'raw_size_bytes', 'compressed_size_bytes', 'search_extra',
        'search_enclosed');

-- Stored mail: its extra texts and documents (`pmail init-db` runs it; the messages
-- stored before it started, in key order, committed batches).
INSERT INTO pmail_backfills (name)
SELECT 'search_extra:stored'
WHERE EXISTS (SELECT 1 FROM email_content);

SELECT pmail_grant_app_role();
SELECT pmail_pin_search_paths();
