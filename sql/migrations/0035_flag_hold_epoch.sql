-- A hold made by the content's `legal_hold` flag moves the tenant's hold epoch, as a
-- `legal_holds` row does (0030).
--
-- The guards look for holds in the writer's snapshot; 0030 made every new hold update
-- its tenant's row of pmail_hold_epochs, which every guarded statement share-locks
-- first, so a writer in flight makes the hold wait and a REPEATABLE READ writer older
-- than the hold fails to serialize instead of changing what it covers. Setting a
-- message's `legal_hold` flag (a trusted session's SQL: pmail has no command for it)
-- moved no epoch, so such a writer, whose snapshot saw the flag still off, could
-- still purge that message after the flag had committed (docs/security.md listed it).
-- Now a row whose flag turns on moves its tenant's epoch the same way, and so does a
-- row inserted with the flag on (a trusted session restoring a purged message's
-- content as held: a red-team pass against a first version, which watched updates
-- only, changed such a message from a transaction older than the insert). Row
-- triggers that fire only for such rows (WHEN), so no other write of email_content
-- pays: pmail's writer inserts content with the flag off.

CREATE FUNCTION pmail_stamp_flag_hold() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
BEGIN
    -- waits for the tenant's guarded writes in flight, as `pmail hold add` does
    INSERT INTO pmail_hold_epochs AS e (tenant_id, changed)
    VALUES (NEW.tenant_id, clock_timestamp())
    ON CONFLICT (tenant_id) DO UPDATE SET changed = excluded.changed;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_stamp_flag_hold AFTER UPDATE OF legal_hold ON email_content
    FOR EACH ROW WHEN (NEW.legal_hold AND NOT OLD.legal_hold)
    EXECUTE FUNCTION pmail_stamp_flag_hold();
CREATE TRIGGER pmail_stamp_flag_hold_ins AFTER INSERT ON email_content
    FOR EACH ROW WHEN (NEW.legal_hold)
    EXECUTE FUNCTION pmail_stamp_flag_hold();

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
