-- A bounce's status is the remote server's own enhanced code when the notice quotes
-- one (`550 5.1.1`), as ../shared/corpus reads it (docs/classification.md, "Decision
-- (2026-12-06)"). The reporting MTA's DSN says something of its own in its `Status:`
-- field (Exim, OpenSMTPD and Courier write a blanket 5.0.0, sendmail 5.2.0 after
-- DATA): `reported_status` keeps that field beside `status`, as written (its X.Y.Z,
-- nothing else), NULL when the notice has no DSN status (free text, SES JSON, ARF).
ALTER TABLE delivery_facts
    ADD COLUMN reported_status text
        CONSTRAINT delivery_facts_reported_status_check
        CHECK (reported_status ~ '^[245]\.[0-7]\.[0-9]{1,3}$');

-- 0025 keeps a held message's facts as stored, for every session. Facts stored before
-- this migration have no reported_status; the backfill below fills it in, on held mail
-- too (as 0023 let the unsubscribe backfill fill a held reply's `unsubscribe`). So the
-- guard makes one exception: a trusted session (the owner, pmail_admin) may fill in a
-- NULL reported_status and change nothing else; a session bound to a tenant still may
-- not change a held fact at all, and nobody changes or clears a reported_status once
-- set. Whether two rows are the same fact: every column but reported_status compared
-- as one JSON value (a column added later is compared too), then that column.
CREATE FUNCTION pmail_same_fact(o delivery_facts, n delivery_facts, trusted boolean)
RETURNS boolean
LANGUAGE sql STABLE
RETURN to_jsonb(o) - 'reported_status' = to_jsonb(n) - 'reported_status'
   AND (o.reported_status IS NOT DISTINCT FROM n.reported_status
        OR (trusted AND o.reported_status IS NULL));

-- 0025's guard, as it was, with pmail_same_fact in place of `n IS NOT DISTINCT FROM o`.
CREATE OR REPLACE FUNCTION pmail_refuse_held_fact_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
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

-- Facts stored before this migration: read again from their stored message
-- (`pmail init-db` runs it: services/facts.py), in committed batches.
INSERT INTO pmail_backfills (name)
SELECT 'reported_status:stored'
WHERE EXISTS (SELECT 1 FROM delivery_facts);

SELECT pmail_pin_search_paths();
