-- matching.sql for a query with a phrase ("rate card"; a run of CJK characters; a
-- subject: or filename: of several words) of common words: the tenant's messages that
-- pass the filters and the full text, newest first, at most `scan` of them.
-- The GIN index has no word positions, so every message holding the phrase's words is
-- read to check that they are adjacent. Walking the messages newest first finds
-- `scan` matches soon when the words are often adjacent, and reads the whole tenant
-- when they rarely are (two common words at a million messages: 20 s); the index's
-- candidates are every message holding the words (100,000 there: 2.6 s). So: check
-- the newest `walk` messages that pass the filters; if that gives `scan` matches (or
-- was every message) they are the answer; else the share found there says how far the
-- walk would go, and the cheaper of going on (as matching.sql) and checking the
-- index's `candidates` (an estimate) gives the answer (docs/performance.md, Search).
-- Every way gives the same rows.
-- The filters placeholder: AND-conditions from sql/queries/search/filters/, full_text
-- not among them (it is here).
-- params: tenant_id uuid, language text, words text, subjects text[],
--   filenames text[], walk int, scan int, candidates float8, and the filters' own
WITH walked AS MATERIALIZED (
    SELECT m.storage_key, coalesce(m.sent_at, m.created) AS date
    FROM email_messages AS m
    WHERE m.tenant_id = %(tenant_id)s
    {filters}
    ORDER BY coalesce(m.sent_at, m.created) DESC, m.storage_key DESC
    LIMIT %(walk)s
), hits AS MATERIALIZED (
    SELECT w.storage_key, w.date
    FROM walked AS w
    JOIN email_content AS c ON c.tenant_id = %(tenant_id)s AND c.storage_key = w.storage_key
    WHERE c.search_vector @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                                %(subjects)s, %(filenames)s)
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
SELECT h.storage_key, h.date FROM hits AS h
WHERE (SELECT way FROM way) = 'walked'
UNION ALL
(SELECT m.storage_key, coalesce(m.sent_at, m.created) AS date
 FROM email_messages AS m
 WHERE m.tenant_id = %(tenant_id)s
   AND (SELECT way FROM way) = 'walk'
 {filters}
   AND m.storage_key IN (
       SELECT c.storage_key FROM email_content AS c
       WHERE c.tenant_id = %(tenant_id)s
         AND c.search_vector @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                                   %(subjects)s, %(filenames)s))
 ORDER BY coalesce(m.sent_at, m.created) DESC, m.storage_key DESC
 LIMIT %(scan)s)
UNION ALL
(SELECT m.storage_key, coalesce(m.sent_at, m.created) AS date
 FROM (SELECT c.storage_key FROM email_content AS c
       WHERE c.tenant_id = %(tenant_id)s
         AND c.search_vector @@ pmail_search_query(%(language)s::regconfig, %(words)s,
                                                   %(subjects)s, %(filenames)s)
       OFFSET 0) AS candidates  -- the index's candidates, not a walk by date
 JOIN email_messages AS m
     ON m.tenant_id = %(tenant_id)s AND m.storage_key = candidates.storage_key
 WHERE (SELECT way FROM way) = 'index'
 {filters}
 ORDER BY coalesce(m.sent_at, m.created) DESC, m.storage_key DESC
 LIMIT %(scan)s)
