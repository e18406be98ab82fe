-- The writer merges the pending lists of the GIN indexes it fills once per batch, in
-- the batch's transaction (pmail_merge_pending_lists), instead of the inserts merging
-- them every 64 kB (0013). A merge of a whole batch's entries sorts them once and walks
-- each posting tree once; at 64 kB an insert merged the entries of about ten documents
-- at a time: on 10,000 templated messages the search index cost the server 2.1 s of CPU
-- that way against 1.1 s merged per batch (docs/performance.md, issue 26). A merge
-- called this way also gives the list's pages back to the free-space map, where a merge
-- that an insert starts leaves them until VACUUM (the bloat 0013 was about), so the
-- list's pages are reused batch after batch. The limit is only a bound for batches so
-- large that their list outgrows it before the writer merges.
ALTER INDEX idx_email_content_search SET (gin_pending_list_limit = 4096);
ALTER INDEX idx_email_messages_addresses SET (gin_pending_list_limit = 4096);
ALTER INDEX idx_email_messages_unlinked SET (gin_pending_list_limit = 4096);

-- Merge the pending lists of the writer's GIN indexes into the indexes; returns the
-- pages merged. SECURITY DEFINER: gin_clean_pending_list wants the index's owner, and
-- tenant logins write too. It changes no row and reveals nothing.
CREATE FUNCTION pmail_merge_pending_lists() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
    RETURN gin_clean_pending_list('idx_email_content_search'::regclass)
         + gin_clean_pending_list('idx_email_messages_addresses'::regclass)
         + gin_clean_pending_list('idx_email_messages_unlinked'::regclass);
END
$$;

SELECT pmail_pin_search_paths();
