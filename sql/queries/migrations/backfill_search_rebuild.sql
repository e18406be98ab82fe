-- One committed batch of the search-document rebuild of every tenant (migration
-- search_recall: names and addresses in the documents): how many content rows it
-- looked at; 0 when there is nothing left to do.
-- params: batch int
SELECT pmail_backfill_search_rebuild('search_rebuild', %(batch)s);
