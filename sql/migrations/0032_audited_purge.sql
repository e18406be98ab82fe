-- A deletion of content through pmail_delete_content is audited, as `pmail purge`'s
-- is; and a compression dictionary's bytes never change (at the end).
--
-- Since 0028 a tenant login deletes content only through pmail_delete_content, which
-- refuses held mail but did not ask for an audit entry: the login could purge its own
-- unheld mail in SQL and leave no trace in the audit log (docs/security.md). Now every
-- content row that function deletes, for any caller, must be named by its storage key
-- in the `keys` of a `purge` entry of the same tenant appended in the same
-- transaction. `pmail purge` (its only caller in pmail) appends that entry after the
-- deletion, so the check runs at commit. The function marks its own deletions with a
-- transaction-local setting that the trigger's WHEN reads as each row goes: a DELETE
-- the owner runs itself is not checked and costs one setting lookup per row (tenant
-- logins may not DELETE content at all since 0028).

CREATE OR REPLACE FUNCTION pmail_delete_content(tenant uuid, keys text[])
RETURNS SETOF bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pmail_check_delete_right($1);
    SELECT set_config('pmail.purge_audit', 'on', true);
    DELETE FROM email_content AS c
    WHERE c.tenant_id = $1 AND c.storage_key = ANY ($2)
    RETURNING c.compressed_size_bytes;
END;

CREATE FUNCTION pmail_purge_audited() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
BEGIN
    IF NOT EXISTS (
        SELECT 1 FROM admin_audit_log AS a
        WHERE a.tenant_id = OLD.tenant_id AND a.at = now() AND a.action = 'purge'
          AND a.result -> 'keys' ? OLD.storage_key::text)
    THEN
        RAISE EXCEPTION 'the content of message % was deleted without its audit entry',
                        OLD.storage_key
            USING ERRCODE = 'P0H04',
                  HINT = 'use `pmail purge`, or append the audit entry (action ''purge'', '
                         'result.keys naming the message) in the same transaction';
    END IF;
    RETURN NULL;
END
$$;

-- deferred: the entry names what was deleted, so it is written after the deletion
CREATE CONSTRAINT TRIGGER pmail_purge_audited AFTER DELETE ON email_content
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW WHEN (current_setting('pmail.purge_audit', true) = 'on')
    EXECUTE FUNCTION pmail_purge_audited();

-- A compression dictionary's bytes never change once written: every content row
-- compressed with it needs exactly those bytes back. pmail never updates one, yet
-- pmail_app may UPDATE every column of the tables it writes (0028), so one statement
-- of a tenant login (`UPDATE compression_dicts SET dict_data = ...`) made every body
-- compressed with the dictionary unreadable, unheld mail included (a red-team pass of
-- 2026-12-07). Refused for every role; a new dictionary is a new row.
CREATE FUNCTION pmail_refuse_dict_rewrites() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'compression dictionary % of tenant % cannot be changed',
                    OLD.dict_id, OLD.tenant_id
        USING ERRCODE = 'P0H05',
              HINT = 'the content compressed with it needs these bytes; train a new '
                     'dictionary instead (`pmail dict train`)';
END
$$;
CREATE TRIGGER pmail_refuse_dict_rewrites BEFORE UPDATE ON compression_dicts
    FOR EACH ROW
    WHEN (OLD.dict_data IS DISTINCT FROM NEW.dict_data
          OR OLD.zstd_dict_id IS DISTINCT FROM NEW.zstd_dict_id
          OR OLD.dict_id IS DISTINCT FROM NEW.dict_id
          OR OLD.tenant_id IS DISTINCT FROM NEW.tenant_id)
    EXECUTE FUNCTION pmail_refuse_dict_rewrites();

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
