-- A message that a link puts under a hold moves its tenant's hold epoch, as a new
-- hold (0030) and the content's legal_hold flag (0035) do.
--
-- A hold by lead, campaign or account covers a message once the message carries that
-- id, and pmail fills the ids in when it links mail that came before the message it
-- answers (sql/queries/linking/): the message is held from that update on. The update
-- moved no epoch, so a REPEATABLE READ tenant login older than the link, whose
-- snapshot saw the message unlinked and so unheld, could still delete its content,
-- attachments or facts after the link had committed (its message row it could not:
-- the link updated that row, so the older transaction fails to serialize on it).
-- Now a row whose lead, campaign or account changes moves its tenant's epoch when
-- the new ids are held and the old were not, looked at once any hold being added for
-- the tenant has committed (a red-team pass raced a link against `hold add` in
-- flight: the link saw no hold yet, and moved nothing). A row trigger with a WHEN on the three
-- columns: the other updates of email_messages (status, sizes, purges) fire nothing,
-- and a link to mail no hold covers costs one hold lookup.

CREATE FUNCTION pmail_stamp_link_hold() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
BEGIN
    -- a hold being added holds the epoch row until it commits: wait for it first,
    -- then look for holds in a new snapshot (READ COMMITTED; REPEATABLE READ fails to
    -- serialize here instead). Looking first, a link that raced a hold saw none and
    -- moved nothing, and an older writer then deleted the mail the two made held.
    PERFORM 1 FROM pmail_hold_epochs AS e WHERE e.tenant_id = NEW.tenant_id FOR SHARE;
    IF pmail_is_held(NEW.tenant_id, NEW.storage_key, NEW.lead_id, NEW.campaign_id,
                     NEW.email_account_id)
       AND NOT pmail_is_held(OLD.tenant_id, OLD.storage_key, OLD.lead_id,
                             OLD.campaign_id, OLD.email_account_id)
    THEN
        -- waits for the tenant's guarded writes in flight, as `pmail hold add` does
        INSERT INTO pmail_hold_epochs AS e (tenant_id, changed)
        VALUES (NEW.tenant_id, clock_timestamp())
        ON CONFLICT (tenant_id) DO UPDATE SET changed = excluded.changed;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_stamp_link_hold
    AFTER UPDATE OF lead_id, campaign_id, email_account_id ON email_messages
    FOR EACH ROW
    WHEN ((NEW.lead_id, NEW.campaign_id, NEW.email_account_id)
          IS DISTINCT FROM (OLD.lead_id, OLD.campaign_id, OLD.email_account_id))
    EXECUTE FUNCTION pmail_stamp_link_hold();

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
