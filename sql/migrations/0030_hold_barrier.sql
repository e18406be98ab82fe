-- Legal holds against what a red-team pass found (2026-12-07, docs/security.md):
--
-- 1. A stale snapshot. The guards look for holds in the caller's snapshot, and
--    adding a hold took no lock a writer waits for: a REPEATABLE READ transaction
--    begun before a hold never saw it, and destroyed the mail it covered after the
--    hold had committed. Now adding a hold updates its tenant's row of
--    pmail_hold_epochs, and every statement the guards look at first takes a share
--    lock on the rows of the tenants it touched (the pmail_hold_barrier triggers,
--    named to fire before the guards). Either the hold waits for the writer to
--    commit (and covers what is left), or the writer waits for the hold and sees it
--    (READ COMMITTED: each of the guard's statements takes a new snapshot), or, in
--    REPEATABLE READ or SERIALIZABLE, fails to serialize.
-- 2. A DELETE of email_messages by lead, campaign or account. 0007's guard read
--    those ids by joining the messages that the statement had just deleted, so only
--    tenant and message holds stopped it. The ids now come from the deleted rows.
-- 3. A scope switched mid-statement. The fact and dictionary guards ran with the
--    caller's scope, which `RETURNING set_config('pmail.tenant_id', ...)` changes
--    after the statement's rows are chosen: a trusted session changed a held
--    message's facts or dictionary while its guard looked at another tenant. They
--    now see every tenant, as 0010's guards do (a bound session still sees its own).
-- 4. Content and attachments planted on held mail. Nothing stopped a tenant login
--    from inserting a content row for a held message that had none (purged before
--    the hold, or a legacy reference), which validate and export then vouched for,
--    or an attachment row on a held message, or moving one onto it. As for facts
--    (0025): a tenant login inserts them only for a message stored by the same
--    transaction.
-- 5. Hold records. A hold could be inserted already released or with any creation
--    time, and released at any time, without an audit entry. Now a hold is created
--    active and dated by the clock once it holds, released at the clock's time, and the
--    transaction that adds or releases one must write its audit entry ("hold add"
--    with result.hold_id, "hold release" with params.hold_id), checked at commit.

-- 1. Each tenant's hold epoch: a row per tenant, changed by every new hold. Only
-- pmail's own functions touch it (no row-level security, no grant: as
-- pmail_tenant_roles), so no tenant login can lock, remove or keep it.
CREATE TABLE pmail_hold_epochs (
    tenant_id uuid        PRIMARY KEY REFERENCES tenants (tenant_id) ON DELETE CASCADE,
    changed   timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON pmail_hold_epochs FROM PUBLIC;
SELECT pmail_scope_all_tenants();
INSERT INTO pmail_hold_epochs (tenant_id) SELECT t.tenant_id FROM tenants AS t;

CREATE FUNCTION pmail_add_hold_epoch() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
BEGIN
    INSERT INTO pmail_hold_epochs (tenant_id) VALUES (NEW.tenant_id)
    ON CONFLICT (tenant_id) DO NOTHING;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_add_hold_epoch AFTER INSERT ON tenants
    FOR EACH ROW EXECUTE FUNCTION pmail_add_hold_epoch();

-- A new hold: active, its tenant's epoch moved (a row lock that every guarded
-- statement of that tenant in flight makes it wait for), then dated.
CREATE FUNCTION pmail_stamp_hold() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
BEGIN
    IF NEW.released IS NOT NULL OR NEW.released_by IS NOT NULL THEN
        RAISE EXCEPTION 'a legal hold is created active; release it afterwards'
            USING ERRCODE = 'P0H02', HINT = 'use `pmail hold add`, then `pmail hold release ID`';
    END IF;
    -- the epoch first: this waits for the tenant's guarded writes in flight (a
    -- `lock_timeout` bounds it: `pmail hold add` sets one); the hold is dated once
    -- they are done, so no change it waited for looks later than the hold
    INSERT INTO pmail_hold_epochs AS e (tenant_id, changed)
    VALUES (NEW.tenant_id, clock_timestamp())
    ON CONFLICT (tenant_id) DO UPDATE SET changed = excluded.changed;
    NEW.created := clock_timestamp();
    RETURN NEW;
END
$$;
CREATE TRIGGER pmail_stamp_hold BEFORE INSERT ON legal_holds
    FOR EACH ROW EXECUTE FUNCTION pmail_stamp_hold();

-- The barrier: a share lock on the epochs of the tenants whose rows the statement
-- changed, taken before any guard looks for holds (triggers of one event fire in
-- name order: pmail_hold_barrier_* before pmail_refuse_held_*). A trigger function
-- cannot be called on its own.
CREATE FUNCTION pmail_hold_barrier() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM 1 FROM pmail_hold_epochs AS e
        WHERE e.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n)
        ORDER BY e.tenant_id FOR SHARE;
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM 1 FROM pmail_hold_epochs AS e
        WHERE e.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o)
        ORDER BY e.tenant_id FOR SHARE;
    ELSE
        PERFORM 1 FROM pmail_hold_epochs AS e
        WHERE e.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o)
           OR e.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n)
        ORDER BY e.tenant_id FOR SHARE;
    END IF;
    RETURN NULL;
END
$$;

DO $$
DECLARE
    t record;
BEGIN
    -- (table, events): what the guards look at, and the inserts of 4. below
    FOR t IN
        SELECT * FROM (VALUES
            ('email_messages', 'UPDATE'), ('email_messages', 'DELETE'),
            ('email_content', 'INSERT'), ('email_content', 'UPDATE'),
            ('email_content', 'DELETE'),
            ('attachments', 'INSERT'), ('attachments', 'UPDATE'),
            ('attachments', 'DELETE'),
            ('attachment_blobs', 'UPDATE'),
            ('delivery_facts', 'INSERT'), ('delivery_facts', 'UPDATE'),
            ('delivery_facts', 'DELETE'),
            ('compression_dicts', 'UPDATE'),
            ('search_documents', 'INSERT'), ('search_documents', 'UPDATE'),
            ('search_documents', 'DELETE')
        ) AS v (relname, event)
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I AFTER %s ON %I REFERENCING %s '
            'FOR EACH STATEMENT EXECUTE FUNCTION pmail_hold_barrier()',
            'pmail_hold_barrier_' || lower(left(t.event, 3)), t.event, t.relname,
            CASE t.event
                WHEN 'INSERT' THEN 'NEW TABLE AS pmail_new_rows'
                WHEN 'DELETE' THEN 'OLD TABLE AS pmail_old_rows'
                ELSE 'OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows'
            END);
    END LOOP;
END
$$;

-- 2. As 0007, with the ids of a deleted message read from its deleted row.
CREATE OR REPLACE FUNCTION pmail_refuse_held_deletes() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    held text;
BEGIN
    IF TG_TABLE_NAME = 'email_messages' THEN
        SELECT o.storage_key INTO held
        FROM pmail_old_rows AS o
        WHERE pmail_is_held(o.tenant_id, o.storage_key, o.lead_id, o.campaign_id,
                            o.email_account_id)
        LIMIT 1;
    ELSE
        -- content and attachments: their message's ids (a message deleted by the
        -- same statement is its own guard's, above)
        EXECUTE format($q$
            SELECT o.key
            FROM (SELECT tenant_id, %I AS key FROM pmail_old_rows) AS o
            LEFT JOIN email_messages AS m
                   ON m.tenant_id = o.tenant_id AND m.storage_key = o.key
            LEFT JOIN email_content AS c
                   ON c.tenant_id = o.tenant_id AND c.storage_key = o.key
            WHERE coalesce(c.legal_hold, false)
               OR pmail_is_held(o.tenant_id, o.key, m.lead_id, m.campaign_id,
                                m.email_account_id)
            LIMIT 1
        $q$, TG_ARGV[0]) INTO held;
        IF held IS NULL AND TG_TABLE_NAME = 'email_content' THEN
            SELECT o.storage_key INTO held
            FROM pmail_old_rows AS o WHERE o.legal_hold LIMIT 1;
        END IF;
    END IF;
    IF held IS NOT NULL THEN
        RAISE EXCEPTION 'message % is under legal hold and cannot be deleted', held
            USING ERRCODE = 'P0H01',
                  HINT = 'release the hold first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;

-- 3. Every tenant's holds, whatever the caller's settings say by then.
ALTER FUNCTION pmail_refuse_held_fact_changes() SET pmail.all_tenants = 'on';
ALTER FUNCTION pmail_refuse_held_dict_changes() SET pmail.all_tenants = 'on';

-- 4. A tenant login's content and attachment rows go only to a message the same
-- transaction stored (the writer's), unless the message is held by nothing; an
-- attachment row is never moved onto a held message. Trusted sessions (restores,
-- migrations, repairs) are not limited. Invoker rights: the rule is the caller's.
CREATE FUNCTION pmail_refuse_held_plants() RETURNS trigger
LANGUAGE plpgsql SET pmail.all_tenants = 'on' AS $$
DECLARE
    found_key text;
BEGIN
    IF TG_OP = 'INSERT' AND pmail_session_binding() IS NULL THEN
        RETURN NULL;  -- a trusted session
    END IF;
    IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                   WHERE h.released IS NULL
                     AND h.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
       AND NOT EXISTS (SELECT 1 FROM email_content AS c
                       WHERE c.legal_hold
                         AND c.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
    THEN
        RETURN NULL;  -- no hold in these rows' tenants (or no rows)
    END IF;
    IF TG_OP = 'INSERT' THEN
        EXECUTE format($q$
            SELECT k.key
            FROM (SELECT DISTINCT tenant_id, %I AS key FROM pmail_new_rows) AS k
            WHERE NOT EXISTS (SELECT 1 FROM email_messages AS m
                              WHERE m.tenant_id = k.tenant_id
                                AND m.storage_key = k.key AND m.created = now())
              AND pmail_message_held(k.tenant_id, k.key)
            LIMIT 1
        $q$, TG_ARGV[0]) INTO found_key;
    ELSE
        -- an attachment row that is not one of the statement's old rows (by its
        -- whole key) has moved: the message it moves to. (An unchanged row of the
        -- held message in the same statement must not vouch for a moved one.)
        SELECT n.parent_storage_key INTO found_key
        FROM pmail_new_rows AS n
        WHERE NOT EXISTS (SELECT 1 FROM pmail_old_rows AS o
                          WHERE o.tenant_id = n.tenant_id
                            AND o.parent_storage_key = n.parent_storage_key
                            AND o.part_index = n.part_index)
          AND pmail_message_held(n.tenant_id, n.parent_storage_key)
        LIMIT 1;
    END IF;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION 'message % is under legal hold: no % row is added to it',
                        found_key, TG_TABLE_NAME
            USING ERRCODE = 'P0H01',
                  HINT = 'only the transaction that stores a message writes its rows';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_refuse_held_plants AFTER INSERT ON email_content
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_plants('storage_key');
CREATE TRIGGER pmail_refuse_held_plants AFTER INSERT ON attachments
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_plants('parent_storage_key');
CREATE TRIGGER pmail_refuse_held_moves AFTER UPDATE ON attachments
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_plants('parent_storage_key');

-- 5. A release happens now; the rest of the record never changes (as 0010).
CREATE OR REPLACE FUNCTION pmail_keep_hold_records() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.released IS NULL
       AND (NEW.tenant_id, NEW.hold_id, NEW.scope, NEW.value, NEW.reason, NEW.created_by,
            NEW.created)
           IS NOT DISTINCT FROM
           (OLD.tenant_id, OLD.hold_id, OLD.scope, OLD.value, OLD.reason, OLD.created_by,
            OLD.created)
    THEN
        IF NEW.released IS NOT NULL THEN
            NEW.released := clock_timestamp();  -- not a time of the writer's choosing
        END IF;
        RETURN NEW;  -- a release (or nothing at all)
    END IF;
    RAISE EXCEPTION 'legal holds are released, never changed or removed'
        USING ERRCODE = 'P0H02', HINT = 'use `pmail hold release ID`';
END
$$;

-- Adding or releasing a hold writes its audit entry in the same transaction (the
-- entry's `at` is the transaction's start, stamped by the log): checked at commit,
-- so the order of the two does not matter.
CREATE FUNCTION pmail_hold_audited() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    act text := CASE TG_OP WHEN 'INSERT' THEN 'hold add' ELSE 'hold release' END;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.released IS NOT DISTINCT FROM OLD.released THEN
        RETURN NULL;
    END IF;
    IF NOT EXISTS (
        SELECT 1 FROM admin_audit_log AS a
        WHERE a.tenant_id = NEW.tenant_id AND a.at = now() AND a.action = act
          AND (CASE TG_OP WHEN 'INSERT' THEN a.result ELSE a.params END) ->> 'hold_id'
              = NEW.hold_id::text)
    THEN
        RAISE EXCEPTION 'hold % was % without its audit entry', NEW.hold_id,
                        CASE TG_OP WHEN 'INSERT' THEN 'added' ELSE 'released' END
            USING ERRCODE = 'P0H02',
                  HINT = format('use `pmail %s`, or append the audit entry (action %L, '
                                '%s.hold_id %s) in the same transaction', act, act,
                                CASE TG_OP WHEN 'INSERT' THEN 'result' ELSE 'params' END,
                                NEW.hold_id);
    END IF;
    RETURN NULL;
END
$$;
CREATE CONSTRAINT TRIGGER pmail_hold_audited AFTER INSERT OR UPDATE ON legal_holds
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION pmail_hold_audited();

-- NOT VALID: a release an UPDATE backdated before 0030 stays as it is
ALTER TABLE legal_holds
    ADD CONSTRAINT legal_holds_released_after_created
    CHECK (released IS NULL OR released >= created) NOT VALID;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
