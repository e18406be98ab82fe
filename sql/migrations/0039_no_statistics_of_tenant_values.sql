-- No planner statistics of the values tenants store (red-team finding of 2026-12-08,
-- docs/security.md "What the planner's statistics told").
--
-- ANALYZE keeps, per column, the most common values and a histogram of values of
-- every tenant together. Under row-level security PostgreSQL still estimates a
-- condition from them when its operator is leakproof (text `=`, `<`, `^@`), and plain
-- EXPLAIN prints the estimate: as acme's login, `EXPLAIN SELECT 1 FROM email_messages
-- WHERE to_email ^@ 'hiro.'` estimated 5 rows and `... ^@ 'hirp'` 1, so a search one
-- character at a time (9,000 EXPLAINs, 3 seconds) spelled out globex's recipients,
-- and the same read its senders, subjects and Message-IDs.
--
-- Now the columns that hold what a tenant's mail, leads, accounts, holds and logs
-- say (addresses, names, subjects, Message-IDs, texts, folder and source names,
-- errors) collect no statistics: ANALYZE skips them, and the planner estimates their
-- conditions from its defaults, as before any ANALYZE. pmail filters on none of them
-- in a way whose plan depends on the estimate (docs/security.md). Kept: tenant ids,
-- storage keys, digests, dates, sizes and the short closed vocabularies (types,
-- statuses, reasons), on which pmail's plans depend, and the md5(message_id) index
-- expression linking reads (a digest: a login can test a Message-ID it already
-- knows, not read one).
--
-- ANALYZE does not remove what it kept before, and only a superuser may delete rows
-- of pg_statistic: a superuser running this migration deletes them; for another role
-- they stay (frozen: ANALYZE no longer refreshes them), and every `pmail init-db`
-- warns, naming the statement a superuser runs, until they are gone
-- (docs/migrations.md). Changing a column's type to itself would drop them too, but
-- the functions and views that use these columns forbid it.

DO $$
DECLARE
    col record;
    clear_all boolean := (SELECT rolsuper FROM pg_roles WHERE rolname = current_user);
BEGIN
    FOR col IN
        SELECT a.attrelid, c.relname, a.attname, a.attnum
        FROM (VALUES
            ('email_messages', ARRAY['message_id', 'in_reply_to', 'parent_message_id',
                                     'original_message_id', 'from_email', 'from_name',
                                     'to_email', 'cc_email', 'subject', 'source',
                                     'unsubscribe']),
            ('email_content', ARRAY['content_text', 'content_html', 'search_extra',
                                    'search_enclosed', 'headers']),
            ('attachments', ARRAY['filename', 'content_id']),
            ('delivery_facts', ARRAY['recipient', 'diagnostic_code', 'remote_mta']),
            ('suppressions', ARRAY['address', 'detail']),
            ('leads', ARRAY['email', 'name']),
            ('campaigns', ARRAY['name']),
            ('email_accounts', ARRAY['email', 'display_name']),
            ('legal_holds', ARRAY['value', 'reason', 'created_by', 'released_by']),
            ('imap_folders', ARRAY['folder']),
            ('imap_messages', ARRAY['folder']),
            ('imap_refused', ARRAY['folder']),
            ('job_log', ARRAY['source', 'error']),
            ('admin_audit_log', ARRAY['db_role', 'acting_as', 'os_user']),
            ('migration_anomalies', ARRAY['legacy_key', 'detail']),
            ('tenants', ARRAY['name'])) AS v (tbl, cols)
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
