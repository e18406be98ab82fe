-- The original design's second query from the rollups: per direction, type and status,
-- how many messages, their average size and how many attachments they carry.
-- params: tenant_id uuid (NULL: every tenant), since date, until date
SELECT direction, message_type, status,
       sum(messages)::bigint AS email_count,
       CASE WHEN sum(messages) > 0
            THEN round(sum(raw_bytes)::numeric / sum(messages)) END AS avg_size,
       sum(attachments)::bigint AS total_attachments
FROM message_rollups
WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND day BETWEEN %(since)s::date AND %(until)s::date
GROUP BY direction, message_type, status
HAVING sum(messages) > 0
ORDER BY direction, message_type, status;
