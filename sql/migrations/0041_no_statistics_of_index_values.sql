-- No planner statistics of tenants' values in index expressions either, nor of
-- stored bytes or tenant ids of the small tables (second red-team pass of
-- 2026-12-08, docs/security.md "What the planner's statistics told").
--
-- ANALYZE keeps statistics of each index expression apart from its table's columns,
-- and the planner uses them when a query names the same expression with a leakproof
-- operator: after 0039, `EXPLAIN SELECT 1 FROM delivery_facts WHERE lower(recipient)
-- ^@ 'hiro.'` still estimated 3 rows against 1 for 'hirp', and a search a letter at a
-- time printed another tenant's bounced recipients; `lower(mime_type)` held a
-- sender's own content type and `pmail_address_tokens(...)` every address as an
-- element (tested a thousand guesses at a time with `&&`). Those expressions, the
-- sender's address and the unique keys of 0038 (unusable by a login, cleared all the
-- same) collect none now. Kept: md5(message_id) (a digest, which linking's plans
-- need), the message's date, and the week of a search document.
--
-- Columns: `tenants.tenant_id` and `tenant_write_locks.tenant_id` (a histogram of
-- every tenant's id, read by a binary search on `tenant_id < '<uuid>'` estimates; a
-- primary key needs no statistics to be planned), the tenants' time zones and search
-- languages, `attachments.mime_type` (a sender's own text), and stored bytes and
-- documents nothing filters on: raw messages, files, dictionaries, splices, the
-- audit log's params and results. As in 0039, a superuser running this deletes what
-- was kept; otherwise `pmail init-db` warns, naming the statement
-- (docs/migrations.md), which covers index columns too.

DO $$
DECLARE
    col record;
    clear_all boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    -- index expressions: ALTER INDEX ... ALTER COLUMN <position>
    FOR col IN
        SELECT i.oid, i.relname, a.attnum
        FROM (VALUES ('idx_attachments_mime_type'), ('idx_delivery_facts_recipient'),
                     ('idx_email_messages_addresses'), ('idx_email_messages_sender'),
                     ('migration_anomalies_legacy_row'), ('tenants_name_unique'))
             AS v (idx)
        JOIN pg_class AS i ON i.relname = v.idx AND i.relkind = 'i'
                          AND i.relnamespace = current_schema()::regnamespace
        JOIN pg_index AS x ON x.indexrelid = i.oid
        JOIN pg_attribute AS a ON a.attrelid = i.oid AND a.attnum > 0
                              AND x.indkey[a.attnum - 1] = 0
    LOOP
        EXECUTE format('ALTER INDEX %I ALTER COLUMN %s SET STATISTICS 0',
                       col.relname, col.attnum);
        IF clear_all THEN
            DELETE FROM pg_statistic WHERE starelid = col.oid AND staattnum = col.attnum;
        END IF;
    END LOOP;
    FOR col IN
        SELECT a.attrelid, c.relname, a.attname, a.attnum
        FROM (VALUES
            ('tenants', ARRAY['tenant_id', 'time_zone', 'search_language']),
            ('tenant_write_locks', ARRAY['tenant_id']),
            ('attachments', ARRAY['mime_type']),
            ('email_content', ARRAY['raw_data', 'raw_splices']),
            ('attachment_blobs', ARRAY['data']),
            ('compression_dicts', ARRAY['dict_data']),
            ('admin_audit_log', ARRAY['params', 'result'])) AS v (tbl, cols)
        JOIN pg_class AS c ON c.relname = v.tbl
                          AND c.relnamespace = current_schema()::regnamespace
        JOIN pg_attribute AS a ON a.attrelid = c.oid AND a.attname = ANY (v.cols)
                              AND NOT a.attisdropped
    LOOP
        EXECUTE format('ALTER TABLE %I ALTER COLUMN %I SET STATISTICS 0',
                       col.relname, col.attname);
        IF clear_all THEN
            DELETE FROM pg_statistic
            WHERE starelid = col.attrelid AND staattnum = col.attnum;
        END IF;
    END LOOP;
END
$$;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
