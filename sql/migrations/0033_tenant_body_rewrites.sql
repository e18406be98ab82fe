-- A tenant login may not wipe, replace or move the stored bytes of its own mail.
--
-- pmail_app may UPDATE every column of the tables it writes (0028), and three red-team
-- passes of 2026-12-07 used that, as a tenant login and on mail no hold covers, to lose
-- mail without any audit entry: it set `raw_form = 'none'`; it replaced `raw_data`
-- with another message and gave it a matching `raw_sha256`, which `export` then
-- vouched for; it moved a body to a decoy storage key; it replaced a migrated
-- message's body (legacy rows have no digest) through a dictionary it inserted; it
-- re-pointed `attachments` rows to other files, so that a file a message needs went
-- unreferenced and `pmail_delete_unreferenced_blobs` deleted it, or a legacy message
-- exported another file. Deletions need an audit entry since 0032; these rewrites are
-- now refused to bound sessions (tenant logins; pmail_session_binding() not NULL):
--
-- * email_content: `tenant_id`, `storage_key`, `raw_splices`, `raw_sha256` and
--   `raw_form` never change (a migrated row was given a digest and a form of the
--   login's choosing, then "recompressed" to match); `raw_data`, `compression` and
--   `dict_id` change only together, as pmail's own recompression changes them (a move
--   to another dictionary with new bytes: `dict train --recompress` and the first
--   automatic training,
--   which a tenant login's ingest runs), and never on a legacy row (no digest to
--   check the new bytes against: a tenant login's recompression leaves those rows).
--   The digest cannot change, so bytes written with a move that do not give the
--   message back are found by `validate --deep`.
-- * attachment_blobs: `tenant_id`, `sha256`, `size_bytes`, `compression` and `data`
--   never change (pmail never rewrites a stored file; `validate --repair` changes only
--   `compressed_size_bytes`).
-- * attachments: a row never changes (pmail never changes one), and is inserted
--   only by the transaction that stores its message.
--
-- Trusted sessions (the owner, pmail_admin: backfills, repairs) are not limited. The
-- content and file triggers name their columns (UPDATE OF), so an update of other
-- columns (search texts, SQL bodies, sizes) fires nothing and reads no stored body;
-- on email_content the WHEN tests the columns before it asks about the session, so
-- pmail's recompression of ingested mail asks nothing per row.

CREATE FUNCTION pmail_refuse_body_rewrites() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    what text;
BEGIN
    IF TG_TABLE_NAME = 'email_content' THEN
        what := CASE
            WHEN NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
              OR NEW.storage_key IS DISTINCT FROM OLD.storage_key
                THEN 'moved to another message'
            WHEN NEW.raw_sha256 IS DISTINCT FROM OLD.raw_sha256
                THEN 'given another digest'
            WHEN NEW.raw_form IS DISTINCT FROM OLD.raw_form
                THEN 'given another form'
            WHEN NEW.raw_splices IS DISTINCT FROM OLD.raw_splices
                THEN 'given other splices'
            WHEN OLD.raw_form = 'legacy'
             AND (NEW.raw_data IS DISTINCT FROM OLD.raw_data
                  OR NEW.compression IS DISTINCT FROM OLD.compression
                  OR NEW.dict_id IS DISTINCT FROM OLD.dict_id)
                THEN 'rewritten (a migrated message has no digest to check it by)'
            WHEN OLD.raw_data IS NOT NULL
             AND NEW.raw_data IS DISTINCT FROM OLD.raw_data
             AND NOT (NEW.compression = 'zstd-dict'
                      AND NEW.dict_id IS DISTINCT FROM OLD.dict_id)
                THEN 'overwritten'
            WHEN (NEW.compression IS DISTINCT FROM OLD.compression
                  OR NEW.dict_id IS DISTINCT FROM OLD.dict_id)
             AND NEW.raw_data IS NOT DISTINCT FROM OLD.raw_data
                THEN 'given another compression'
        END;
        IF what IS NOT NULL THEN
            RAISE EXCEPTION 'the stored message % cannot be % by a tenant login',
                            OLD.storage_key, what
                USING ERRCODE = 'P0H06',
                      HINT = 'pmail rewrites stored bytes only to recompress them; '
                             'to remove mail, use `pmail purge`';
        END IF;
    ELSIF TG_TABLE_NAME = 'attachments' THEN
        RAISE EXCEPTION 'the attachment % of message % cannot be changed by a tenant '
                        'login', OLD.part_index, OLD.parent_storage_key
            USING ERRCODE = 'P0H06',
                  HINT = 'pmail never changes an attachment row';
    ELSE
        RAISE EXCEPTION 'a stored attachment file cannot be changed by a tenant login'
            USING ERRCODE = 'P0H06',
                  HINT = 'pmail never rewrites a stored file';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER pmail_refuse_body_rewrites
    BEFORE UPDATE OF tenant_id, storage_key, raw_sha256, raw_form, raw_data,
                     raw_splices, compression, dict_id
    ON email_content
    FOR EACH ROW WHEN ((NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
                        OR NEW.storage_key IS DISTINCT FROM OLD.storage_key
                        OR NEW.raw_sha256 IS DISTINCT FROM OLD.raw_sha256
                        OR NEW.raw_form IS DISTINCT FROM OLD.raw_form
                        OR OLD.raw_form = 'legacy'
                        OR NEW.raw_splices IS DISTINCT FROM OLD.raw_splices
                        OR NEW.compression IS DISTINCT FROM 'zstd-dict'
                        OR NEW.dict_id IS NOT DISTINCT FROM OLD.dict_id
                        -- a move of the dictionary without new bytes (a length
                        -- test first: only bytes of equal length are compared)
                        OR NEW.raw_data IS NOT DISTINCT FROM OLD.raw_data)
                       AND pmail_session_binding() IS NOT NULL)
    EXECUTE FUNCTION pmail_refuse_body_rewrites();

-- the columns a file is kept by; a change that leaves them as they were passes
CREATE TRIGGER pmail_refuse_body_rewrites
    BEFORE UPDATE OF tenant_id, sha256, size_bytes, compression, data
    ON attachment_blobs
    FOR EACH ROW WHEN ((NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
                        OR NEW.sha256 IS DISTINCT FROM OLD.sha256
                        OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes
                        OR NEW.compression IS DISTINCT FROM OLD.compression
                        OR NEW.data IS DISTINCT FROM OLD.data)
                       AND pmail_session_binding() IS NOT NULL)
    EXECUTE FUNCTION pmail_refuse_body_rewrites();

-- an attachment row is written once, with its message (export rebuilds a migrated
-- message from these rows: file, name, type, disposition, content id)
CREATE TRIGGER pmail_refuse_body_rewrites
    BEFORE UPDATE ON attachments
    FOR EACH ROW WHEN (OLD.* IS DISTINCT FROM NEW.*
                       AND pmail_session_binding() IS NOT NULL)
    EXECUTE FUNCTION pmail_refuse_body_rewrites();

-- ... and only by the transaction that stores the message: a tenant login added a
-- forged file, named as the real one, to a migrated message, and export put it first
-- (0030 refused this on held mail only)
CREATE FUNCTION pmail_refuse_late_attachments() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found_key text;
BEGIN
    IF pmail_session_binding() IS NULL THEN
        RETURN NULL;  -- a trusted session (migrate-legacy, repairs)
    END IF;
    SELECT k.parent_storage_key INTO found_key
    FROM (SELECT DISTINCT tenant_id, parent_storage_key FROM pmail_new_rows) AS k
    WHERE NOT EXISTS (SELECT 1 FROM email_messages AS m
                      WHERE m.tenant_id = k.tenant_id
                        AND m.storage_key = k.parent_storage_key
                        AND m.created = now())
    LIMIT 1;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION 'no attachment row is added to message % by a tenant login '
                        'after it was stored', found_key
            USING ERRCODE = 'P0H06',
                  HINT = 'only the transaction that stores a message writes its rows';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_refuse_late_attachments AFTER INSERT ON attachments
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_late_attachments();

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
