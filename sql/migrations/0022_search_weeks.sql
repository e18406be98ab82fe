-- The full-text GIN of search_documents also holds each document's week, so that a
-- search finds its newest matches a few weeks at a time (the candidates of the newest
-- week, then of the week before, then of the two before, four, ...:
-- sql/queries/search/matching_documents.sql) instead of reading every candidate or
-- walking every newer document. At a million messages an OR of two mid-frequency
-- words (23,700 candidates) or a word with a date range and fields read 10,000-20,000
-- heap pages to keep the newest 1,000 (0.1-0.2 s at 128 MB shared_buffers); a week's
-- candidates are a few hundred (issue 27, docs/performance.md). One GIN of two
-- columns replaces the one over the document: a search without weeks uses its first
-- column as before; a write adds one entry for the week, no second index.

-- The week of a date: whole weeks since 1970-01-01 00:00 UTC (an epoch does not
-- depend on the time zone, so this is immutable although date_part() is only stable).
CREATE FUNCTION pmail_search_week(d timestamptz) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN floor(date_part('epoch', d) / 604800)::integer;

-- The week as a one-lexeme document: 'pmail week 2966' (a lexeme with spaces, which
-- no text parser yields; in a column of its own, never in the document).
CREATE FUNCTION pmail_search_week_vector(d timestamptz) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN array_to_tsvector(ARRAY['pmail week ' || pmail_search_week(d)]);

-- Any of the weeks first..last, as a query of pmail_search_week_vector.
CREATE FUNCTION pmail_search_weeks_query(first integer, last integer) RETURNS tsquery
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN (SELECT string_agg(quote_literal('pmail week ' || w), ' | ')::tsquery
        FROM generate_series(first, last) AS w);

CREATE INDEX idx_search_documents_weeks ON search_documents
    USING gin (document, pmail_search_week_vector(date))
    WITH (gin_pending_list_limit = 64);  -- as the one it replaces (0020)
DROP INDEX idx_search_documents_document;
