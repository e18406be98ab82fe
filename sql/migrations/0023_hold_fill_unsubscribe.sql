-- The unsubscribe backfill of 0019 fills email_messages.unsubscribe on stored replies
-- (what the writer has set since 0016); the update guard of 0010/0012 protected the
-- column on held mail, so one held reply that asks to be removed failed `pmail init-db`
-- (and every command on the embedded server, which runs the backfills) with "release
-- the hold first", and the request never reached the suppression list. Like a held
-- message's lead or campaign, the column may now be filled in, never changed or
-- cleared: the guard, as 0012 left it, with 'unsubscribe' among the fill-only columns.
CREATE OR REPLACE FUNCTION pmail_refuse_held_updates() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET pmail.all_tenants = 'on' AS $$
DECLARE
    movable text[] := TG_ARGV;
    fill_only text[] := ARRAY['lead_id', 'campaign_id', 'email_account_id',
                              'content_html', 'headers', 'unsubscribe'];
    identity text[];
    held_by text;
    same text;
    filled text;
    flagged boolean := false;
    flag text := CASE TG_TABLE_NAME WHEN 'email_content'
                      THEN '(NOT o.legal_hold OR n.legal_hold)' ELSE 'true' END;
    found_key text;
BEGIN
    IF TG_TABLE_NAME = 'email_content' THEN
        -- the flag as it was: an update that clears it is looked at below
        EXECUTE 'SELECT EXISTS (SELECT 1 FROM pmail_old_rows AS o WHERE o.legal_hold)'
        INTO flagged;
    END IF;
    IF NOT flagged AND NOT EXISTS (SELECT 1 FROM legal_holds AS h
                   WHERE h.released IS NULL
                     AND h.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
       AND NOT EXISTS (SELECT 1 FROM email_content AS c
                       WHERE c.legal_hold
                         AND c.tenant_id IN (SELECT o.tenant_id FROM pmail_old_rows AS o))
    THEN
        RETURN NULL;  -- the common case: no hold anywhere near these rows
    END IF;
    -- the row's identity (its primary key) and its protected columns
    SELECT array_agg(a.attname::text ORDER BY a.attnum) INTO identity
    FROM pg_index AS i JOIN pg_attribute AS a
      ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey)
    WHERE i.indrelid = TG_RELID AND i.indisprimary;
    SELECT string_agg(format('o.%1$I IS NOT DISTINCT FROM n.%1$I', a.attname), ' AND ')
    INTO same
    FROM pg_attribute AS a
    WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
      AND NOT a.attname = ANY (movable || fill_only || ARRAY['legal_hold']);
    SELECT coalesce(string_agg(format('(o.%1$I IS NULL OR o.%1$I IS NOT DISTINCT FROM n.%1$I)',
                                      a.attname), ' AND '), 'true')
    INTO filled
    FROM pg_attribute AS a
    WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
      AND a.attname = ANY (fill_only);
    held_by := CASE TG_TABLE_NAME
        WHEN 'email_messages' THEN
            'pmail_is_held(o.tenant_id, o.storage_key, o.lead_id, o.campaign_id, '
            'o.email_account_id) OR EXISTS (SELECT 1 FROM email_content AS c '
            'WHERE c.tenant_id = o.tenant_id AND c.storage_key = o.storage_key '
            'AND c.legal_hold)'
        WHEN 'email_content' THEN
            'o.legal_hold OR pmail_message_held(o.tenant_id, o.storage_key)'
        WHEN 'attachments' THEN
            'pmail_message_held(o.tenant_id, o.parent_storage_key)'
        ELSE
            'EXISTS (SELECT 1 FROM attachments AS a WHERE a.tenant_id = o.tenant_id '
            'AND a.sha256 = o.sha256 '
            'AND pmail_message_held(a.tenant_id, a.parent_storage_key))'
    END;
    EXECUTE format($q$
        SELECT %s FROM pmail_old_rows AS o
        WHERE (%s)
          AND NOT EXISTS (SELECT 1 FROM pmail_new_rows AS n
                          WHERE %s AND %s AND %s AND %s)
        LIMIT 1
    $q$,
        CASE TG_TABLE_NAME WHEN 'attachments' THEN 'o.parent_storage_key'
                           WHEN 'attachment_blobs' THEN 'encode(o.sha256, ''hex'')'
                           ELSE 'o.storage_key' END,
        held_by,
        (SELECT string_agg(format('n.%1$I = o.%1$I', k), ' AND ') FROM unnest(identity) AS k),
        coalesce(same, 'true'), filled, flag)
    INTO found_key;
    IF found_key IS NOT NULL THEN
        RAISE EXCEPTION '% % is under legal hold and cannot be changed',
                        CASE TG_TABLE_NAME WHEN 'attachment_blobs' THEN 'file'
                                           ELSE 'message' END, found_key
            USING ERRCODE = 'P0H01',
                  HINT = 'release the hold first (`pmail hold list`, `pmail hold release`)';
    END IF;
    RETURN NULL;
END
$$;

SELECT pmail_pin_search_paths();
