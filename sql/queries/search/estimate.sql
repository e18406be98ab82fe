-- The planner's estimate of the documents (all tenants') that match the search's words:
-- whether the newest matches are found a few weeks at a time
-- (search/matching_weeks.sql) or as the planner chooses (search/matching_documents.sql:
-- a walk by date, or every candidate of the index). The plan's first row count is the
-- estimate (nothing is run). Asked only when it can change that choice: the words hold
-- no phrase and no negation, and there are enough documents (search/facts.sql,
-- services/search.py `_weeks_possible`).
-- params: language text, words text, subjects text[], filenames text[]
EXPLAIN (FORMAT JSON)
SELECT 1 FROM search_documents AS d
WHERE d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s, %(subjects)s,
                                       %(filenames)s);
