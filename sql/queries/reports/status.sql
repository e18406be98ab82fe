-- The original design's second query from the rollups: per direction, type and status,
-- how many messages, their average size and how many attachments they carry.
-- params: tenant_id uuid (NULL: every tenant), since date, until date,
--   start timestamptz (a rolling window's first instant; NULL: whole days)
SELECT direction, message_type, status,
       sum(messages)::bigint AS email_count,
       CASE WHEN sum(messages) > 0
            THEN round(sum(raw_bytes)::numeric / sum(messages)) END AS avg_size,
       sum(attachments)::bigint AS total_attachments
FROM pmail_message_rollups_window(%(tenant_id)s::uuid, %(since)s::date, %(until)s::date,
                                   %(start)s::timestamptz)
GROUP BY direction, message_type, status
HAVING sum(messages) > 0
ORDER BY direction, message_type, status;
