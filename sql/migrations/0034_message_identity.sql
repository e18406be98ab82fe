-- A tenant login adds content and attachment rows only to a message its own
-- transaction stored, and that transaction is known by its id, not by a time.
--
-- Rows are added to a message only by the transaction that stores it (0025 for a held
-- message's facts, 0030 for its content and files, 0033 for a login's attachment
-- rows), and the guards knew that transaction by `email_messages.created = now()`.
-- pmail_app may write every column (0028), so a tenant login could
-- * set `created = now()` on any unheld stored message and then add a forged file to
--   it, which 0033's guard let through;
-- * insert a body on the tombstone an audited purge left, with no trick at all (0033
--   guarded attachment rows only);
-- * and, found by a red-team pass against a first version of this migration that
--   only fixed `created` against updates: insert a message row with a `created` of
--   its choosing equal to another open transaction's `now()` (16 logins starting
--   transactions at once shared a microsecond within a few rounds), so that the
--   other transaction passed the test for that message, held or purged, and planted
--   a body and a forged file on it.
--
-- Now:
-- * email_messages.stored_xid: the id of the transaction that stored the row
--   (pg_current_xact_id(), 64 bits, never reused; NULL for rows stored before 0034).
--   A bound session (tenant logins; pmail_session_binding() not NULL) may not choose
--   it on insert nor change it. The guards compare it with the current transaction's
--   id, and `created` with `now()` as before: `pmail_refuse_late_rows` (below) and the
--   fact guard (0025/0026, replaced here with only that test changed). Both, because
--   ids are unique to one cluster only: rows restored from a dump into another
--   cluster keep ids that its own transactions reach later, but keep their old
--   `created` too, which a login cannot change.
-- * email_messages: a bound session changes no message's `storage_key`, `created` or
--   `stored_xid`, and does not clear `purged_at` once set (a tombstone stays one:
--   the red-team pass made a purged message look unpurged, so `validate` reported
--   its content missing). pmail changes none of these. (`tenant_id` row-level
--   security keeps: tests/db/test_isolation.py.) The trigger names its columns and
--   tests them in its WHEN, so pmail's own updates (links, statuses, sizes, purges)
--   call nothing.
-- * email_content and attachments: one statement trigger on each, in place of 0030's
--   `pmail_refuse_held_plants` on inserts and 0033's `pmail_refuse_late_attachments`:
--   a bound session inserts these rows only for messages its transaction stored; a
--   row for a held message is refused as before (P0H01), any other as 0033's (P0H06).
--   Trusted sessions (migrate-legacy, repairs, restores) are not limited, as before.
--   `pmail_refuse_held_plants` keeps its other job, refusing moves of attachment rows
--   onto held mail (for every session). Delivery facts and search documents of
--   unheld mail are not guarded this way: pmail rewrites them for stored mail
--   (reclassification, the search backfills), and a held message's facts keep 0025's
--   guard, now on the transaction id.

-- no default on ADD COLUMN: a volatile default would rewrite the table
ALTER TABLE email_messages ADD COLUMN stored_xid xid8;
ALTER TABLE email_messages ALTER COLUMN stored_xid SET DEFAULT pg_current_xact_id();

CREATE FUNCTION pmail_refuse_chosen_xid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pmail_session_binding() IS NOT NULL THEN
        RAISE EXCEPTION 'message % is stored by this transaction: its stored_xid is not '
                        'chosen by a tenant login', NEW.storage_key
            USING ERRCODE = 'P0H06',
                  HINT = 'leave stored_xid to its default';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pmail_refuse_chosen_xid BEFORE INSERT ON email_messages
    FOR EACH ROW WHEN (NEW.stored_xid IS DISTINCT FROM pg_current_xact_id())
    EXECUTE FUNCTION pmail_refuse_chosen_xid();

-- A tenant login stores messages only under the keys pmail's ingest gives them (32 hex
-- digits of a digest of the tenant and the exact bytes) and never as migrated mail:
-- a fourth red-team pass stored a message under a legacy storage key (not a digest:
-- `email_<Message-ID>_<epoch ms>`, known without the message), with a body of its
-- choosing as a legacy row (which has no digest to check it by); `migrate-legacy` then
-- skipped the real message as already stored, and `--verify`, `validate --deep` and
-- `export` all passed the forgery. Only a trusted session migrates.
CREATE FUNCTION pmail_refuse_foreign_keys() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pmail_session_binding() IS NOT NULL THEN
        RAISE EXCEPTION 'message % is not stored by a tenant login under that key or '
                        'as migrated mail', NEW.storage_key
            USING ERRCODE = 'P0H06',
                  HINT = 'a tenant login ingests mail (its keys are digests of the '
                         'bytes); only the owner or pmail_admin runs migrate-legacy';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pmail_refuse_foreign_keys BEFORE INSERT ON email_messages
    FOR EACH ROW
    WHEN (NEW.storage_key !~ '^[0-9a-f]{32}$' OR NEW.source LIKE 'legacy:%')
    EXECUTE FUNCTION pmail_refuse_foreign_keys();
CREATE TRIGGER pmail_refuse_foreign_keys BEFORE INSERT ON email_content
    FOR EACH ROW WHEN (NEW.raw_form = 'legacy')
    EXECUTE FUNCTION pmail_refuse_foreign_keys();

CREATE FUNCTION pmail_refuse_identity_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pmail_session_binding() IS NOT NULL THEN
        RAISE EXCEPTION 'message % keeps its storage key, stored time and transaction, '
                        'and stays purged: not changed by a tenant login',
                        OLD.storage_key
            USING ERRCODE = 'P0H06',
                  HINT = 'pmail never changes them; a trusted session may';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER pmail_refuse_identity_changes
    BEFORE UPDATE OF storage_key, created, stored_xid, purged_at ON email_messages
    FOR EACH ROW
    WHEN (NEW.storage_key IS DISTINCT FROM OLD.storage_key
          OR NEW.created IS DISTINCT FROM OLD.created
          OR NEW.stored_xid IS DISTINCT FROM OLD.stored_xid
          OR (OLD.purged_at IS NOT NULL AND NEW.purged_at IS DISTINCT FROM OLD.purged_at))
    EXECUTE FUNCTION pmail_refuse_identity_changes();

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
                            AND m.storage_key = k.key
                            AND m.stored_xid = pg_current_xact_id()
                            AND m.created = now())
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

-- 0026's fact guard, as it was, but for the test of the transaction that stores the
-- message (and with 0030's setting, which a CREATE OR REPLACE would drop)
CREATE OR REPLACE FUNCTION pmail_refuse_held_fact_changes() RETURNS trigger
LANGUAGE plpgsql SET pmail.all_tenants = 'on' AS $$
DECLARE
    trusted boolean;
    tenant_ids uuid[];
    keys text[];
    found_key text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF pmail_session_binding() IS NULL THEN
            RETURN NULL;  -- a trusted session
        END IF;
        IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                       WHERE h.released IS NULL
                         AND h.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
           AND NOT EXISTS (SELECT 1 FROM email_content AS c
                           WHERE c.legal_hold
                             AND c.tenant_id IN (SELECT n.tenant_id
                                                 FROM pmail_new_rows AS n))
        THEN
            RETURN NULL;  -- no hold in these rows' tenants (or no rows)
        END IF;
        -- the messages not being stored by this transaction: stored before it
        -- started, or with their content already (the writer's facts pass here)
        SELECT array_agg(k.tenant_id), array_agg(k.storage_key) INTO tenant_ids, keys
        FROM (SELECT DISTINCT n.tenant_id, n.storage_key FROM pmail_new_rows AS n) AS k
        WHERE NOT EXISTS (SELECT 1 FROM email_messages AS m
                          WHERE m.tenant_id = k.tenant_id
                            AND m.storage_key = k.storage_key
                            AND m.stored_xid = pg_current_xact_id()
                            AND m.created = now())
           OR EXISTS (SELECT 1 FROM email_content AS c
                      WHERE c.tenant_id = k.tenant_id AND c.storage_key = k.storage_key);
    ELSIF TG_OP = 'DELETE' THEN
        IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                       WHERE h.released IS NULL
                         AND h.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
           AND NOT EXISTS (SELECT 1 FROM email_content AS c
                           WHERE c.legal_hold
                             AND c.tenant_id IN (SELECT o.tenant_id
                                                 FROM pmail_old_rows AS o))
        THEN
            RETURN NULL;  -- no hold in these rows' tenants (or no rows)
        END IF;
        -- (a message deleted in the same statement, by the foreign key's cascade, is
        -- gone already: its own guard, 0007's, decides)
        SELECT array_agg(k.tenant_id), array_agg(k.storage_key) INTO tenant_ids, keys
        FROM (SELECT DISTINCT o.tenant_id, o.storage_key FROM pmail_old_rows AS o) AS k;
    ELSE
        -- both sides: the owner may move a fact onto another tenant's held message
        IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                       WHERE h.released IS NULL
                         AND (h.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o)
                              OR h.tenant_id IN (SELECT n.tenant_id
                                                 FROM pmail_new_rows AS n)))
           AND NOT EXISTS (SELECT 1 FROM email_content AS c
                           WHERE c.legal_hold
                             AND (c.tenant_id IN (SELECT o.tenant_id
                                                  FROM pmail_old_rows AS o)
                                  OR c.tenant_id IN (SELECT n.tenant_id
                                                     FROM pmail_new_rows AS n)))
        THEN
            RETURN NULL;
        END IF;
        trusted := pmail_session_binding() IS NULL;
        -- the rows that are not exactly as they were, on either side (0026: but for
        -- a NULL reported_status a trusted session filled in)
        SELECT array_agg(k.tenant_id), array_agg(k.storage_key) INTO tenant_ids, keys
        FROM (
            SELECT o.tenant_id, o.storage_key FROM pmail_old_rows AS o
            WHERE NOT EXISTS (
                SELECT 1 FROM pmail_new_rows AS n
                WHERE n.tenant_id = o.tenant_id AND n.storage_key = o.storage_key
                  AND n.recipient_index = o.recipient_index
                  AND pmail_same_fact(o, n, trusted))
            UNION
            SELECT n.tenant_id, n.storage_key FROM pmail_new_rows AS n
            WHERE NOT EXISTS (
                SELECT 1 FROM pmail_old_rows AS o
                WHERE o.tenant_id = n.tenant_id AND o.storage_key = n.storage_key
                  AND o.recipient_index = n.recipient_index
                  AND pmail_same_fact(o, n, trusted))
        ) AS k;
    END IF;
    IF keys IS NULL THEN
        RETURN NULL;
    END IF;
    -- which of these messages is held (pmail_message_held, for the whole set at once:
    -- a call a message costs ~0.5 ms)
    SELECT k.storage_key INTO found_key
    FROM unnest(tenant_ids, keys) AS k (tenant_id, storage_key)
    WHERE EXISTS (SELECT 1 FROM email_content AS c
                  WHERE c.tenant_id = k.tenant_id AND c.storage_key = k.storage_key
                    AND c.legal_hold)
       OR EXISTS (SELECT 1 FROM email_messages AS m
                  JOIN legal_holds AS h ON h.tenant_id = m.tenant_id
                  WHERE m.tenant_id = k.tenant_id AND m.storage_key = k.storage_key
                    AND h.released IS NULL
                    AND pmail_hold_covers(h.scope, h.value, m.storage_key, m.lead_id,
                                          m.campaign_id, m.email_account_id))
    LIMIT 1;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION 'message % is under legal hold: its delivery facts are kept '
                        'as stored', found_key
            USING ERRCODE = 'P0H01',
                  HINT = 'release the hold first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
