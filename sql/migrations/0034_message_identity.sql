-- A tenant login may not make a stored message look newly stored, and adds no row of
-- any kind to a message stored earlier.
--
-- Rows are added to a message only by the transaction that stores it (0030 on held
-- mail, 0033 for a login's attachment rows), and the guards know that transaction by
-- `email_messages.created = now()`. pmail_app may UPDATE every column (0028), so a
-- tenant login could set `created = now()` on any unheld message and then add rows
-- to it: a forged file, named as the real one, on a stored message (which `export`
-- puts first), or a body of its choosing on the tombstone an audited purge left
-- (a body was plantable there without the trick: 0033 guarded attachment rows only).
--
-- * email_messages: `storage_key` and `created` never change in a bound session
--   (tenant logins; pmail_session_binding() not NULL). pmail changes neither; the
--   trigger names its columns, so pmail's own updates (links, purges, sizes,
--   unsubscribes) fire nothing. (`tenant_id` cannot change there either: row-level
--   security's check refuses any other tenant, tests/db/test_isolation.py.)
-- * email_content and attachments: one statement trigger on each, in place of 0030's
--   `pmail_refuse_held_plants` on inserts and 0033's `pmail_refuse_late_attachments`:
--   a bound session inserts rows only for messages stored in the same transaction;
--   a row for a held message is refused as before (P0H01), any other as 0033's
--   (P0H06). Trusted sessions (migrate-legacy, repairs, restores) are not limited, as
--   before. `pmail_refuse_held_plants` keeps its other job, refusing moves of
--   attachment rows onto held mail (for every session).

CREATE FUNCTION pmail_refuse_identity_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF (NEW.storage_key, NEW.created) IS DISTINCT FROM (OLD.storage_key, OLD.created)
       AND pmail_session_binding() IS NOT NULL
    THEN
        RAISE EXCEPTION 'message % keeps its storage key and stored time: not '
                        'changed by a tenant login', OLD.storage_key
            USING ERRCODE = 'P0H06',
                  HINT = 'pmail never changes them; a trusted session may';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pmail_refuse_identity_changes
    BEFORE UPDATE OF storage_key, created ON email_messages
    FOR EACH ROW EXECUTE FUNCTION pmail_refuse_identity_changes();

CREATE FUNCTION pmail_refuse_late_rows() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found_key text;
    found_held boolean;
BEGIN
    IF pmail_session_binding() IS NULL THEN
        RETURN NULL;  -- a trusted session
    END IF;
    EXECUTE format($q$
        SELECT k.key, pmail_message_held(k.tenant_id, k.key) AS held
        FROM (SELECT DISTINCT tenant_id, %I AS key FROM pmail_new_rows) AS k
        WHERE NOT EXISTS (SELECT 1 FROM email_messages AS m
                          WHERE m.tenant_id = k.tenant_id
                            AND m.storage_key = k.key AND m.created = now())
        ORDER BY held DESC
        LIMIT 1
    $q$, TG_ARGV[0]) INTO found_key, found_held;
    IF found_held THEN
        RAISE EXCEPTION 'message % is under legal hold: no % row is added to it',
                        found_key, TG_TABLE_NAME
            USING ERRCODE = 'P0H01',
                  HINT = 'only the transaction that stores a message writes its rows';
    ELSIF found_key IS NOT NULL THEN
        RAISE EXCEPTION 'no % row is added to message % by a tenant login after it '
                        'was stored', TG_TABLE_NAME, found_key
            USING ERRCODE = 'P0H06',
                  HINT = 'only the transaction that stores a message writes its rows';
    END IF;
    RETURN NULL;
END
$$;

DROP TRIGGER pmail_refuse_late_attachments ON attachments;
DROP FUNCTION pmail_refuse_late_attachments();
DROP TRIGGER pmail_refuse_held_plants ON email_content;
DROP TRIGGER pmail_refuse_held_plants ON attachments;
CREATE TRIGGER pmail_refuse_late_rows AFTER INSERT ON email_content
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_late_rows('storage_key');
CREATE TRIGGER pmail_refuse_late_rows AFTER INSERT ON attachments
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_late_rows('parent_storage_key');

-- what is left of 0030's guard: an attachment row moved onto a held message (every
-- session; a bound session may not change an attachment row at all since 0033)
CREATE OR REPLACE FUNCTION pmail_refuse_held_plants() RETURNS trigger
LANGUAGE plpgsql SET pmail.all_tenants = 'on' AS $$
DECLARE
    found_key text;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                   WHERE h.released IS NULL
                     AND h.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
       AND NOT EXISTS (SELECT 1 FROM email_content AS c
                       WHERE c.legal_hold
                         AND c.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
    THEN
        RETURN NULL;  -- no hold in these rows' tenants (or no rows)
    END IF;
    -- an attachment row that is not one of the statement's old rows (by its whole
    -- key) has moved: the message it moves to. (An unchanged row of the held message
    -- in the same statement must not vouch for a moved one.)
    SELECT n.parent_storage_key INTO found_key
    FROM pmail_new_rows AS n
    WHERE NOT EXISTS (SELECT 1 FROM pmail_old_rows AS o
                      WHERE o.tenant_id = n.tenant_id
                        AND o.parent_storage_key = n.parent_storage_key
                        AND o.part_index = n.part_index)
      AND pmail_message_held(n.tenant_id, n.parent_storage_key)
    LIMIT 1;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION 'message % is under legal hold: no % row is added to it',
                        found_key, TG_TABLE_NAME
            USING ERRCODE = 'P0H01',
                  HINT = 'only the transaction that stores a message writes its rows';
    END IF;
    RETURN NULL;
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
