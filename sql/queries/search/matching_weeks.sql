-- matching_documents.sql for a query whose candidates are many and whose matches
-- are too few among the newest documents for a short walk by date (the service
-- decides from the planner's estimate): the tenant's documents that match it and pass
-- the filters, newest first, at most `scan` of them, from search_documents.
-- A few weeks at a time, newest first: the GIN holds each document's week beside it
-- (migration 0022), so the candidates of a span of weeks come from the index alone;
-- they are filtered, sorted, and the spans stop once `scan` matches are found. The
-- newest four weeks one at a time, then spans of 2, 4, 8 ... weeks: a word found in
-- many documents reads the newest week's candidates only (or the few weeks its page
-- needs, not twice as many), and a rare one a few dozen short index look-ups over
-- years. At a million messages an OR of
-- two mid-frequency words, or a word with a date range and fields, reads a few
-- hundred heap pages instead of every candidate's or every newer document's
-- (docs/performance.md, Search). The weeks run from the newest date the filters
-- allow to the oldest; spans are disjoint in time and taken in order (a nested loop
-- over them, each span's rows sorted), so the rows come out newest first with no
-- sort over all spans, which would read them all.
-- Each match carries its document, already read here: ranked.sql ranks by it instead
-- of reading it again on the primary key (unused columns of newest.sql cost nothing).
-- The documents placeholder: AND-conditions from sql/queries/search/documents/ (on d),
-- and documents/messages.sql holding the other filters (on m).
-- params: tenant_id uuid, language text, words text, subjects text[],
--   filenames text[], scan int, since, until, after_date timestamptz (each may be
--   NULL), and the filters' own
WITH weeks AS (
    SELECT pmail_search_week(least(max(d.date), %(until)s, %(after_date)s)) AS newest,
           pmail_search_week(greatest(min(d.date), %(since)s)) AS oldest
    FROM search_documents AS d
    WHERE d.tenant_id = %(tenant_id)s
), offsets AS (
    -- offsets from the newest week: 0, 1, 2, 3 alone, then 4-5, 6-9, 10-17, ...,
    -- 1026-2049, and from there 1,024 weeks a span: one query of the week index
    -- names every week of its span, and one of tens of thousands of weeks fails
    -- ('value is too big in tsquery', or the stack depth). A message may be dated as
    -- late as 9999 (anyone can send one), so the steps run as far as the oldest week.
    SELECT s.step, w.newest, w.oldest,
           CASE WHEN s.step < 4 THEN s.step
                WHEN s.step < 14 THEN (1 << (s.step - 3)) + 2
                ELSE 2050 + (s.step - 14) * 1024 END AS near,
           CASE WHEN s.step < 4 THEN s.step
                WHEN s.step < 14 THEN (1 << (s.step - 2)) + 1
                ELSE 3073 + (s.step - 14) * 1024 END AS far
    FROM weeks AS w,
         generate_series(0, 14 + greatest(w.newest - w.oldest, 0) / 1024) AS s (step)
), spans AS (
    -- a span without any of the tenant's documents is skipped on the date index
    -- (the weeks between mail of today and one dated 9999 are hundreds of spans)
    SELECT o.step, greatest(o.oldest, o.newest - o.far) AS first,
           o.newest - o.near AS last
    FROM offsets AS o
    WHERE o.newest - o.near >= o.oldest
      AND EXISTS (SELECT 1 FROM search_documents AS e
                  WHERE e.tenant_id = %(tenant_id)s
                    AND e.date >= to_timestamp(greatest(o.oldest, o.newest - o.far)
                                               * 604800.0)
                    AND e.date < to_timestamp((o.newest - o.near + 1) * 604800.0))
)
SELECT found.storage_key, found.date, found.document
FROM spans
CROSS JOIN LATERAL (
    SELECT d.storage_key, d.date, d.document
    FROM search_documents AS d
    WHERE d.tenant_id = %(tenant_id)s
      AND d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                           %(subjects)s, %(filenames)s)
      AND pmail_search_week_vector(d.date)
          @@ pmail_search_weeks_query(spans.first, spans.last)
    {documents}
    ORDER BY d.date DESC, d.storage_key DESC
    LIMIT %(scan)s
) AS found
WHERE spans.first <= spans.last
LIMIT %(scan)s
