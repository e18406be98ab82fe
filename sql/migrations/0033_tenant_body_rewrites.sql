-- A tenant login may not wipe, replace or move the stored bytes of its own mail.
--
-- pmail_app may UPDATE every column of the tables it writes (0028), and a red-team
-- pass of 2026-12-07 used that, as a tenant login and on mail no hold covers, to lose
-- mail without any audit entry: it set `raw_form = 'none'` and `raw_data = NULL`; it
-- replaced `raw_data` with another message and gave it a matching `raw_sha256`, which
-- `export` then vouched for; it moved a body to a decoy storage key and marked the
-- message purged. Deletions need an audit entry since 0032; these rewrites are now
-- refused to bound sessions (tenant logins; pmail_session_binding() not NULL):
--
-- * email_content: `tenant_id`, `storage_key` and a set `raw_sha256` never change,
--   `raw_form` never becomes 'none', and `raw_data` changes only as pmail's own
--   recompression changes it, moving the row to another dictionary
--   (`compression = 'zstd-dict'` with a new `dict_id`: `dict train --recompress` and
--   the first automatic training, which a tenant login's ingest runs). The digest
--   cannot change, so bytes written that way that do not give it back are found by
--   `validate --deep`.
-- * attachment_blobs: `tenant_id`, `sha256`, `size_bytes` and `data` never change
--   (pmail never rewrites a stored file; `validate --repair` changes only
--   `compressed_size_bytes`).
--
-- Trusted sessions (the owner, pmail_admin: backfills, repairs) are not limited. The
-- triggers name their columns (UPDATE OF), so an update of other columns (search
-- texts, SQL bodies, sizes) fires nothing and reads no stored body.

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
            WHEN OLD.raw_sha256 IS NOT NULL
             AND NEW.raw_sha256 IS DISTINCT FROM OLD.raw_sha256
                THEN 'given another digest'
            WHEN NEW.raw_form = 'none' AND OLD.raw_form <> 'none'
                THEN 'emptied'
            WHEN OLD.raw_data IS NOT NULL
             AND NEW.raw_data IS DISTINCT FROM OLD.raw_data
             AND NOT (NEW.compression = 'zstd-dict'
                      AND NEW.dict_id IS DISTINCT FROM OLD.dict_id)
                THEN 'overwritten'
        END;
        IF what IS NOT NULL THEN
            RAISE EXCEPTION 'the stored message % cannot be % by a tenant login',
                            OLD.storage_key, what
                USING ERRCODE = 'P0H06',
                      HINT = 'pmail rewrites stored bytes only to recompress them; '
                             'to remove mail, use `pmail purge`';
        END IF;
    ELSIF NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
       OR NEW.sha256 IS DISTINCT FROM OLD.sha256
       OR NEW.size_bytes IS DISTINCT FROM OLD.size_bytes
       OR NEW.data IS DISTINCT FROM OLD.data THEN
        RAISE EXCEPTION 'a stored attachment file cannot be changed by a tenant login'
            USING ERRCODE = 'P0H06',
                  HINT = 'pmail never rewrites a stored file';
    END IF;
    RETURN NEW;
END
$$;

-- The column tests come first, so pmail's recompression (a move to another
-- dictionary, the digest and form kept) asks nothing of the session per row.
CREATE TRIGGER pmail_refuse_body_rewrites
    BEFORE UPDATE OF tenant_id, storage_key, raw_sha256, raw_form, raw_data
    ON email_content
    FOR EACH ROW WHEN ((NEW.tenant_id IS DISTINCT FROM OLD.tenant_id
                        OR NEW.storage_key IS DISTINCT FROM OLD.storage_key
                        OR NEW.raw_sha256 IS DISTINCT FROM OLD.raw_sha256
                        OR NEW.raw_form IS DISTINCT FROM OLD.raw_form
                        OR NEW.compression IS DISTINCT FROM 'zstd-dict'
                        OR NEW.dict_id IS NOT DISTINCT FROM OLD.dict_id)
                       AND pmail_session_binding() IS NOT NULL)
    EXECUTE FUNCTION pmail_refuse_body_rewrites();

CREATE TRIGGER pmail_refuse_body_rewrites
    BEFORE UPDATE OF tenant_id, sha256, size_bytes, data ON attachment_blobs
    FOR EACH ROW WHEN (pmail_session_binding() IS NOT NULL)
    EXECUTE FUNCTION pmail_refuse_body_rewrites();

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
