-- One page of matching messages, newest first (by the message's date: sent, else
-- stored), with a snippet of the text body when the search has words.
-- The matching placeholder: sql/queries/search/matching.sql with its filters.
-- params: tenant_id uuid, language text (the tenant's search language),
--   scan int (the page size + 1), snippets bool, words text,
--   subjects text[],
--   filenames text[], mark_start text, mark_stop text, and the filters' own
WITH page AS (
{matching}
)
SELECT p.storage_key, p.date, m.direction, m.message_type, m.status, m.from_email,
       m.to_email, m.subject, m.bounce_reason, NULL::real AS rank,
       CASE WHEN %(snippets)s THEN pmail_search_snippet(
           %(language)s::regconfig, c.content_text,
           pmail_search_query(%(language)s::regconfig, %(words)s, %(subjects)s,
                              %(filenames)s),
           %(mark_start)s, %(mark_stop)s) END AS snippet,
       NULL::bigint AS matched
FROM page AS p
JOIN email_messages AS m ON m.tenant_id = %(tenant_id)s AND m.storage_key = p.storage_key
LEFT JOIN email_content AS c
    ON c.tenant_id = %(tenant_id)s AND c.storage_key = p.storage_key
ORDER BY p.date DESC, p.storage_key DESC;
