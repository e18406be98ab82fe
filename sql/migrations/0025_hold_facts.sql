-- A legal hold also keeps what a held message said about its recipients, and the
-- dictionary its stored bytes need. Before this migration a tenant's own login could
-- rewrite a held bounce's delivery_facts (its diagnostic_code, reason, recipient),
-- delete them or plant facts for a held message, and rewrite the bytes of a
-- compression dictionary that held mail was compressed with (its raw message could
-- then no longer be read back). Now:
--   delivery_facts    a fact of a held message is never changed or deleted, by any
--                     session: pmail writes a message's facts once, in the transaction
--                     that stores it, and never rewrites them (a fact moved onto a held
--                     message by an UPDATE counts as changed). A session bound to a
--                     tenant may insert facts of a held message only in the
--                     transaction that stores the message, before its content: the
--                     message row was stored at this transaction's start (created =
--                     now(), a column the hold guard of 0010 protects) and it has no
--                     email_content row yet (the writer inserts facts between the two;
--                     a tenant login stores no message without content). A trusted
--                     session's inserts are not limited (migrate-legacy stores old
--                     rows with their own `created`). TRUNCATE of a table that holds
--                     a held message's facts is refused.
--   compression_dicts a dictionary that held mail uses is never changed, by any
--                     session (pmail only inserts dictionaries; a used one cannot be
--                     deleted, a foreign key says so).
-- Invoker rights, as 0024: a bound session changes only its own tenant's rows and
-- reads that tenant's holds itself, and the insert rule must know the caller.
-- Statement-level with transition tables: a statement on rows of tenants without a
-- hold pays one look for holds; with one, a lookup a message whose rows changed.

CREATE FUNCTION pmail_refuse_held_fact_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
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
        -- the rows that are not exactly as they were, on either side
        SELECT array_agg(k.tenant_id), array_agg(k.storage_key) INTO tenant_ids, keys
        FROM (
            SELECT o.tenant_id, o.storage_key FROM pmail_old_rows AS o
            WHERE NOT EXISTS (
                SELECT 1 FROM pmail_new_rows AS n
                WHERE n.tenant_id = o.tenant_id AND n.storage_key = o.storage_key
                  AND n.recipient_index = o.recipient_index
                  AND n IS NOT DISTINCT FROM o)
            UNION
            SELECT n.tenant_id, n.storage_key FROM pmail_new_rows AS n
            WHERE NOT EXISTS (
                SELECT 1 FROM pmail_old_rows AS o
                WHERE o.tenant_id = n.tenant_id AND o.storage_key = n.storage_key
                  AND o.recipient_index = n.recipient_index
                  AND o IS NOT DISTINCT FROM n)
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

-- transition tables take one event a trigger
CREATE TRIGGER pmail_refuse_held_fact_inserts AFTER INSERT ON delivery_facts
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_fact_changes();
CREATE TRIGGER pmail_refuse_held_fact_updates AFTER UPDATE ON delivery_facts
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_fact_changes();
CREATE TRIGGER pmail_refuse_held_fact_deletes AFTER DELETE ON delivery_facts
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_fact_changes();

-- A dictionary that held mail was compressed with keeps its bytes: any change to
-- such a row is refused (an UPDATE that leaves a row as it was changes nothing).
CREATE FUNCTION pmail_refuse_held_dict_changes() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found_dict integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                   WHERE h.released IS NULL
                     AND h.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
       AND NOT EXISTS (SELECT 1 FROM email_content AS c
                       WHERE c.legal_hold
                         AND c.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
    THEN
        RETURN NULL;  -- no hold in these rows' tenants (or no rows)
    END IF;
    SELECT o.dict_id INTO found_dict
    FROM pmail_old_rows AS o
    WHERE NOT EXISTS (SELECT 1 FROM pmail_new_rows AS n
                      WHERE n.tenant_id = o.tenant_id AND n.dict_id = o.dict_id
                        AND n IS NOT DISTINCT FROM o)
      AND (EXISTS (SELECT 1 FROM email_content AS c
                   WHERE c.tenant_id = o.tenant_id AND c.dict_id = o.dict_id
                     AND c.legal_hold)
           OR EXISTS (SELECT 1 FROM email_content AS c
                      JOIN email_messages AS m
                        ON m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
                      JOIN legal_holds AS h
                        ON h.tenant_id = m.tenant_id AND h.released IS NULL
                      WHERE c.tenant_id = o.tenant_id AND c.dict_id = o.dict_id
                        AND pmail_hold_covers(h.scope, h.value, m.storage_key,
                                              m.lead_id, m.campaign_id,
                                              m.email_account_id)))
    LIMIT 1;
    IF found_dict IS NOT NULL THEN
        RAISE EXCEPTION 'compression dictionary % holds the bytes of mail under legal '
                        'hold and cannot be changed', found_dict
            USING ERRCODE = 'P0H01',
                  HINT = 'release the hold first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER pmail_refuse_held_dict_changes AFTER UPDATE ON compression_dicts
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_dict_changes();

-- TRUNCATE delivery_facts fires no row trigger: refused while it holds a held
-- message's facts (the same guard as 0010's, one branch more).
CREATE OR REPLACE FUNCTION pmail_refuse_held_truncate() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    held boolean;
BEGIN
    held := CASE TG_TABLE_NAME
        WHEN 'attachments' THEN
            EXISTS (SELECT 1 FROM attachments AS a
                    WHERE pmail_message_held(a.tenant_id, a.parent_storage_key))
        WHEN 'attachment_blobs' THEN
            EXISTS (SELECT 1 FROM attachments AS a
                    WHERE pmail_message_held(a.tenant_id, a.parent_storage_key))
        WHEN 'delivery_facts' THEN
            EXISTS (SELECT 1 FROM delivery_facts AS f
                    JOIN email_content AS c
                      ON c.tenant_id = f.tenant_id AND c.storage_key = f.storage_key
                    WHERE c.legal_hold)
            OR EXISTS (SELECT 1 FROM legal_holds AS h
                       JOIN email_messages AS m ON m.tenant_id = h.tenant_id
                       WHERE h.released IS NULL
                         AND pmail_hold_covers(h.scope, h.value, m.storage_key, m.lead_id,
                                               m.campaign_id, m.email_account_id)
                         AND EXISTS (SELECT 1 FROM delivery_facts AS f
                                     WHERE f.tenant_id = m.tenant_id
                                       AND f.storage_key = m.storage_key))
        ELSE
            EXISTS (SELECT 1 FROM email_content AS c WHERE c.legal_hold)
            OR EXISTS (SELECT 1 FROM legal_holds AS h
                       JOIN email_messages AS m ON m.tenant_id = h.tenant_id
                       WHERE h.released IS NULL
                         AND pmail_hold_covers(h.scope, h.value, m.storage_key, m.lead_id,
                                               m.campaign_id, m.email_account_id))
    END;
    IF held THEN
        RAISE EXCEPTION '% holds mail under legal hold and cannot be truncated',
                        TG_TABLE_NAME
            USING ERRCODE = 'P0H01',
                  HINT = 'release the holds first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER pmail_refuse_held_truncate BEFORE TRUNCATE ON delivery_facts
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_truncate();

SELECT pmail_pin_search_paths();
