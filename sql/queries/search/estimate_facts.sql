-- Beside search/estimate.sql: the planner's count of documents (all tenants'), and
-- whether the search's words hold a negation (`-word`), which the index answers by
-- reading the whole of the negated word's entries: once for all candidates, not once
-- for each span of weeks (search/matching_weeks.sql).
-- params: language text, words text, subjects text[], filenames text[]
SELECT greatest(c.reltuples, 0)::float8 AS documents,
       coalesce(pmail_search_query(%(language)s::regconfig, %(words)s, %(subjects)s,
                                   %(filenames)s)::text ~ '!', false) AS negated
FROM pg_class AS c
WHERE c.oid = 'search_documents'::regclass;
