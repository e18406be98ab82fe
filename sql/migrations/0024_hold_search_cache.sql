-- A legal hold also keeps a held message findable. The update guard of 0010/0021 lets
-- the search cache of held mail move (its document, its search texts), as pmail's own
-- rebuilds need; so a tenant's own login could rewrite a held message's document or
-- texts, planting words or emptying them, and make held mail unfindable. Now a session
-- bound to a tenant (a tenant login, or an untrusted role: pmail_session_binding() is
-- not NULL) may, on held mail:
--   email_content     not change search_extra or search_enclosed at all (only the
--                     owner's search-text backfill writes them); search_vector (the
--                     document before 0020) only to the rebuilt value, or to NULL once
--                     the message has its search_documents row (what
--                     pmail_sync_search_documents does when it moves one);
--   search_documents  update a row only to the one rebuilt from the stored message
--                     (pmail_stored_search_vector and the message's date, type and
--                     direction: what pmail_put_search_documents writes, so
--                     `validate --repair` as a tenant login still works); never delete
--                     one (the room a planted INSERT would need); insert one only while
--                     its tenant has search on (a new message's, written by the writer
--                     in the statement that stores its content).
-- A trusted session (the owner, a superuser, pmail_admin and pmail_analyst members)
-- is not limited: the writer, backfills, `tenant set --search`/`--search-language`
-- and `validate --repair` run as one, and so may the administrator who rebuilds.
--
-- Not SECURITY DEFINER: it must know the caller (inside a definer function
-- current_user is the owner), and a bound session changes only its own tenant's rows,
-- whose holds and flags it reads itself. Statement-level with transition tables, as
-- the other guards: a trusted session pays one binding check a statement, a tenant
-- login one look for holds in its tenant and, if there is one, a lookup for each
-- row whose cache changed.
CREATE FUNCTION pmail_refuse_held_search_rewrites() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found_key text;
BEGIN
    IF pmail_session_binding() IS NULL THEN
        RETURN NULL;  -- a trusted session
    END IF;
    IF TG_OP = 'DELETE' OR TG_OP = 'UPDATE' THEN
        IF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                       WHERE h.released IS NULL
                         AND h.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
           AND NOT EXISTS (SELECT 1 FROM email_content AS c
                           WHERE c.legal_hold
                             AND c.tenant_id IN (SELECT o.tenant_id
                                                 FROM pmail_old_rows AS o))
        THEN
            RETURN NULL;  -- no hold in these rows' tenants
        END IF;
    ELSIF NOT EXISTS (SELECT 1 FROM legal_holds AS h
                      WHERE h.released IS NULL
                        AND h.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
          AND NOT EXISTS (SELECT 1 FROM email_content AS c
                          WHERE c.legal_hold
                            AND c.tenant_id IN (SELECT n.tenant_id
                                                FROM pmail_new_rows AS n))
    THEN
        RETURN NULL;
    END IF;

    -- only rows whose cache changed are looked at (pmail's own rebuilds mostly write
    -- what is there already): whether the message is held costs a lookup a row
    IF TG_TABLE_NAME = 'email_content' THEN
        WITH changed AS MATERIALIZED (
            SELECT n.tenant_id, n.storage_key, n.search_vector, o.legal_hold,
                   o.search_extra IS DISTINCT FROM n.search_extra
                   OR o.search_enclosed IS DISTINCT FROM n.search_enclosed AS texts
            FROM pmail_old_rows AS o
            JOIN pmail_new_rows AS n
              ON n.tenant_id = o.tenant_id AND n.storage_key = o.storage_key
            WHERE o.search_extra IS DISTINCT FROM n.search_extra
               OR o.search_enclosed IS DISTINCT FROM n.search_enclosed
               OR o.search_vector IS DISTINCT FROM n.search_vector
        )
        SELECT c.storage_key INTO found_key
        FROM changed AS c
        WHERE (c.legal_hold OR pmail_message_held(c.tenant_id, c.storage_key))
          AND (c.texts
               OR (NOT (c.search_vector IS NULL
                        AND EXISTS (SELECT 1 FROM search_documents AS d
                                    WHERE d.tenant_id = c.tenant_id
                                      AND d.storage_key = c.storage_key))
                   AND c.search_vector IS DISTINCT FROM
                       pmail_stored_search_vector(c.tenant_id, c.storage_key)))
        LIMIT 1;
    ELSIF TG_OP = 'DELETE' THEN
        SELECT o.storage_key INTO found_key
        FROM pmail_old_rows AS o
        WHERE pmail_message_held(o.tenant_id, o.storage_key)
        LIMIT 1;
    ELSIF TG_OP = 'INSERT' THEN
        -- the tenant's setting first: the writer inserts new held mail's documents
        IF EXISTS (SELECT 1 FROM tenants AS t
                   WHERE NOT t.search_index
                     AND t.tenant_id IN (SELECT n.tenant_id FROM pmail_new_rows AS n))
        THEN
            SELECT n.storage_key INTO found_key
            FROM pmail_new_rows AS n
            JOIN tenants AS t ON t.tenant_id = n.tenant_id AND NOT t.search_index
            WHERE pmail_message_held(n.tenant_id, n.storage_key)
            LIMIT 1;
        END IF;
    ELSE
        -- a changed document of held mail: the one rebuilt from its stored message,
        -- under the same key (a key moved away is a delete)
        WITH changed AS MATERIALIZED (
            SELECT o.tenant_id, o.storage_key FROM pmail_old_rows AS o
            WHERE NOT EXISTS (SELECT 1 FROM pmail_new_rows AS n
                              WHERE n.tenant_id = o.tenant_id
                                AND n.storage_key = o.storage_key
                                AND n.date = o.date AND n.message_type = o.message_type
                                AND n.direction = o.direction
                                AND n.document = o.document)
            UNION
            SELECT n.tenant_id, n.storage_key FROM pmail_new_rows AS n
            WHERE NOT EXISTS (SELECT 1 FROM pmail_old_rows AS o
                              WHERE o.tenant_id = n.tenant_id
                                AND o.storage_key = n.storage_key
                                AND o.date = n.date AND o.message_type = n.message_type
                                AND o.direction = n.direction
                                AND o.document = n.document)
        )
        SELECT k.storage_key INTO found_key
        FROM changed AS k
        WHERE pmail_message_held(k.tenant_id, k.storage_key)
          AND NOT EXISTS (
              SELECT 1 FROM pmail_new_rows AS n
              JOIN email_messages AS m
                ON m.tenant_id = n.tenant_id AND m.storage_key = n.storage_key
              WHERE n.tenant_id = k.tenant_id AND n.storage_key = k.storage_key
                AND n.date = coalesce(m.sent_at, m.created)
                AND n.message_type = m.message_type AND n.direction = m.direction
                AND n.document = pmail_stored_search_vector(n.tenant_id, n.storage_key))
        LIMIT 1;
    END IF;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION 'message % is under legal hold: its search document and texts '
                        'are rebuilt from the message, not written', found_key
            USING ERRCODE = 'P0H01',
                  HINT = 'an administrator rebuilds them (docs/security.md); release '
                         'the hold first to change the message';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER pmail_refuse_held_search_rewrites AFTER UPDATE ON email_content
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_search_rewrites();
-- transition tables take one event a trigger
CREATE TRIGGER pmail_refuse_held_search_updates AFTER UPDATE ON search_documents
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_search_rewrites();
CREATE TRIGGER pmail_refuse_held_search_deletes AFTER DELETE ON search_documents
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_search_rewrites();
CREATE TRIGGER pmail_refuse_held_search_inserts AFTER INSERT ON search_documents
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_refuse_held_search_rewrites();

SELECT pmail_pin_search_paths();
