-- One committed batch of the move of stored full-text documents from email_content
-- into search_documents (migration search_documents): how many content rows it looked
-- at; 0 when there is nothing left to do.
-- params: batch int
SELECT pmail_backfill_search_move(%(batch)s);
