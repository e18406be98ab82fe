-- One page of matching messages ranked by relevance (ts_rank: subject words weigh
-- most, an enclosed message's least: pmail_search_weights), ties newest first. Ranks the newest `scan` matches: a query matching
-- more says so (docs/search.md), and --sort newest pages through all of them.
-- The matching placeholder: sql/queries/search/matching.sql with its filters
-- (full_text among them).
-- params: tenant_id uuid, language text (the tenant's search language),
--   scan int (the window), limit int, after_key text (NULL: the first
--   page), moving bool, words text, subjects text[], filenames text[], mark_start text,
--   mark_stop text, and the filters' own
WITH matches AS (
{matching}
), ranked AS (
    -- the document the matching read (matching_documents.sql, matching_phrase.sql);
    -- from matching.sql none: looked up on the primary key, or while documents are
    -- being moved, in email_content
    SELECT mt.storage_key, mt.date,
           ts_rank(pmail_search_weights(),
                   coalesce(mt.document,
                            (SELECT d.document FROM search_documents AS d
                             WHERE d.tenant_id = %(tenant_id)s
                               AND d.storage_key = mt.storage_key),
                            (SELECT c.search_vector FROM email_content AS c
                             WHERE %(moving)s AND c.tenant_id = %(tenant_id)s
                               AND c.storage_key = mt.storage_key)),
                   pmail_search_query(%(language)s::regconfig, %(words)s,
                                      %(subjects)s, %(filenames)s)) AS rank
    FROM matches AS mt
), page AS (
    SELECT r.storage_key, r.date, r.rank
    FROM ranked AS r
    WHERE %(after_key)s::text IS NULL
       OR (r.rank, r.date, r.storage_key) < (
           SELECT a.rank, a.date, a.storage_key FROM ranked AS a
           WHERE a.storage_key = %(after_key)s)
    ORDER BY r.rank DESC, r.date DESC, r.storage_key DESC
    LIMIT %(limit)s
)
SELECT p.storage_key, p.date, m.direction, m.message_type, m.status, m.from_email,
       m.to_email, m.subject, m.bounce_reason, p.rank,
       pmail_search_snippet(
           %(language)s::regconfig, c.content_text,
           pmail_search_query(%(language)s::regconfig, %(words)s, %(subjects)s,
                              %(filenames)s),
           %(mark_start)s, %(mark_stop)s) AS snippet,
       (SELECT count(*) FROM matches) AS matched
FROM page AS p
JOIN email_messages AS m ON m.tenant_id = %(tenant_id)s AND m.storage_key = p.storage_key
LEFT JOIN email_content AS c
    ON c.tenant_id = %(tenant_id)s AND c.storage_key = p.storage_key
ORDER BY p.rank DESC, p.date DESC, p.storage_key DESC;
