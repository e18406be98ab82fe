-- Merge the batch's entries of the GIN indexes (search documents, address tokens, link
-- keys) from their pending lists into the indexes, in the batch's transaction
-- (migration 0018 says why once per batch).
-- params: none
SELECT pmail_merge_pending_lists();
