-- The planner's estimate of the documents (all tenants') that match the search's words,
-- and of all documents: whether the newest matches are found a few weeks at a time
-- (search/matching_weeks.sql) or as the planner chooses (search/matching_documents.sql:
-- a walk by date, or every candidate of the index). Two statements; the plan's first
-- row count is the estimate (nothing is run).
-- params: language text, words text, subjects text[], filenames text[]
EXPLAIN (FORMAT JSON)
SELECT 1 FROM search_documents AS d
WHERE d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s, %(subjects)s,
                                       %(filenames)s);
