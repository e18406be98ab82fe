-- matching.sql for a query with full text, once every document is in
-- search_documents: the tenant's documents that match it and pass the filters, newest
-- first, at most `scan` of them, read from search_documents and its indexes alone
-- (date, type and direction are its columns) unless a filter needs the message row.
-- The planner walks the date index or reads the GIN's candidates; when those are many
-- and the walk long, search/matching_weeks.sql is used instead (the service decides).
-- Each match carries its document, already read here: ranked.sql ranks by it instead
-- of reading it again on the primary key (unused columns of newest.sql cost nothing).
-- The documents placeholder: AND-conditions from sql/queries/search/documents/ (on d),
-- and documents/messages.sql holding the other filters (on m).
-- params: tenant_id uuid, language text, words text, subjects text[],
--   filenames text[], scan int, and the filters' own
SELECT d.storage_key, d.date, d.document
FROM search_documents AS d
WHERE d.tenant_id = %(tenant_id)s
  AND d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                       %(subjects)s, %(filenames)s)
{documents}
ORDER BY d.date DESC, d.storage_key DESC
LIMIT %(scan)s
