-- Whether stored documents are still being moved from email_content into
-- search_documents (migration 0020's backfill, `search_move`): the search then reads
-- both (filters/full_text.sql, ranked.sql) instead of search_documents alone.
-- params: none
SELECT pmail_search_moving();
