-- matching_documents.sql for a query with a phrase ("rate card"; a run of CJK
-- characters; a subject: or filename: of several words) of common words: the tenant's
-- documents that match it and pass the filters, newest first, at most `scan` of them.
-- The GIN index has no word positions, so every document holding the phrase's words is
-- read to check that they are adjacent. Walking the documents newest first finds
-- `scan` matches soon when the words are often adjacent, and reads the whole tenant
-- when they rarely are; the index's candidates are every document holding the words
-- (100,000 at a million messages). So: check the newest `walk` documents that pass the
-- filters; if that gives `scan` matches (or was every document) they are the answer;
-- else the share found there says how far the walk would go, and the cheaper of going
-- on (as matching_documents.sql) and checking the index's `candidates` (an estimate)
-- gives the answer (docs/performance.md, Search). Every way gives the same rows.
-- Each match carries its document (for ranked.sql's rank; the walk keeps only the
-- matches' documents).
-- The documents placeholder: AND-conditions from sql/queries/search/documents/ (on d).
-- params: tenant_id uuid, language text, words text, subjects text[],
--   filenames text[], walk int, scan int, candidates float8, and the filters' own
WITH walked AS MATERIALIZED (
    SELECT w.storage_key, w.date, w.hit, CASE WHEN w.hit THEN w.document END AS document
    FROM (SELECT d.storage_key, d.date, d.document,
                 d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                                  %(subjects)s, %(filenames)s) AS hit
          FROM search_documents AS d
          WHERE d.tenant_id = %(tenant_id)s
          {documents}
          ORDER BY d.date DESC, d.storage_key DESC
          LIMIT %(walk)s) AS w
), hits AS MATERIALIZED (
    SELECT w.storage_key, w.date, w.document
    FROM walked AS w
    WHERE w.hit
    ORDER BY w.date DESC, w.storage_key DESC
    LIMIT %(scan)s
), way AS MATERIALIZED (
    SELECT CASE
        WHEN %(walk)s = 0 THEN 'index'
        WHEN (SELECT count(*) FROM hits) >= %(scan)s
          OR (SELECT count(*) FROM walked) < %(walk)s THEN 'walked'
        WHEN %(scan)s::float8 * %(walk)s / greatest((SELECT count(*) FROM hits), 1)
             > %(candidates)s THEN 'index'
        ELSE 'walk'
    END AS way
)
SELECT h.storage_key, h.date, h.document FROM hits AS h
WHERE (SELECT way FROM way) = 'walked'
UNION ALL
(SELECT d.storage_key, d.date, d.document
 FROM search_documents AS d
 WHERE d.tenant_id = %(tenant_id)s
   AND (SELECT way FROM way) = 'walk'
   AND d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                        %(subjects)s, %(filenames)s)
 {documents}
 ORDER BY d.date DESC, d.storage_key DESC
 LIMIT %(scan)s)
UNION ALL
(SELECT candidates.storage_key, candidates.date, candidates.document
 FROM (SELECT d.storage_key, d.date, d.document FROM search_documents AS d
       WHERE d.tenant_id = %(tenant_id)s
         AND (SELECT way FROM way) = 'index'
         AND d.document @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                              %(subjects)s, %(filenames)s)
       {documents}
       OFFSET 0) AS candidates  -- the index's candidates, not a walk by date
 ORDER BY candidates.date DESC, candidates.storage_key DESC
 LIMIT %(scan)s)
