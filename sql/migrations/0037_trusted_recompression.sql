-- Stored mail is recompressed only by a trusted session.
--
-- 0033 left a tenant login one rewrite of its own stored bytes, the shape of pmail's
-- recompression (new bytes with a move to another dictionary), because its `dict train
-- --recompress` and the first automatic training of its ingest ran it. The database
-- cannot unpack zstd to check the new bytes, so a login could insert a dictionary of
-- its own and "recompress" any unheld ingested message to bytes that give nothing
-- back: the digest stayed, so `validate --deep` named each such row, but the mail was
-- lost, with no audit entry (docs/security.md listed it). Now a bound session
-- (pmail_session_binding() not NULL) changes no content row's `raw_data`,
-- `compression` or `dict_id` at all; pmail's recompression is an administrator's job
-- (the owner or pmail_admin: `pmail dict train --recompress`), and a tenant login's
-- automatic training leaves the rows stored before its dictionary as they are (at most
-- the 300 or so messages that taught it; new mail uses the dictionary).
--
-- The WHEN tests the columns first, so updates that change none of them ask nothing
-- about the session; a trusted session's recompression now asks once per row
-- (docs/performance.md).

CREATE OR REPLACE FUNCTION pmail_refuse_body_rewrites() RETURNS trigger
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
                THEN 'rewritten (a migrated message has no digest to check it by)'
            ELSE 'rewritten or recompressed (only an administrator recompresses '
                 'stored mail)'
        END;
        RAISE EXCEPTION 'the stored message % cannot be % by a tenant login',
                        OLD.storage_key, what
            USING ERRCODE = 'P0H06',
                  HINT = CASE WHEN what LIKE 'rewritten or recompressed%'
                              THEN 'run `pmail dict train --recompress` as the owner or '
                                   'a member of pmail_admin; to remove mail, use '
                                   '`pmail purge`'
                              ELSE 'pmail never changes it; to remove mail, use '
                                   '`pmail purge`' END;
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

DROP TRIGGER pmail_refuse_body_rewrites ON email_content;
CREATE TRIGGER pmail_refuse_body_rewrites
    BEFORE UPDATE OF tenant_id, storage_key, raw_sha256, raw_form, raw_data,
                     raw_splices, compression, dict_id
    ON email_content
    FOR EACH ROW WHEN ((NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
                        OR NEW.storage_key IS DISTINCT FROM OLD.storage_key
                        OR NEW.raw_sha256 IS DISTINCT FROM OLD.raw_sha256
                        OR NEW.raw_form IS DISTINCT FROM OLD.raw_form
                        OR NEW.raw_splices IS DISTINCT FROM OLD.raw_splices
                        OR NEW.compression IS DISTINCT FROM OLD.compression
                        OR NEW.dict_id IS DISTINCT FROM OLD.dict_id
                        OR NEW.raw_data IS DISTINCT FROM OLD.raw_data)
                       AND pmail_session_binding() IS NOT NULL)
    EXECUTE FUNCTION pmail_refuse_body_rewrites();

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
