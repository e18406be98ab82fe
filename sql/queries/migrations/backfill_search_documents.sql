-- One committed batch of the search-document backfill (migration 0009): how many
-- content rows it looked at; 0 when there is nothing left to do.
-- params: batch int
SELECT pmail_backfill_search_documents(%(batch)s);
