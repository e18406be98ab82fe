-- Messages per arrival day (the tenant's time zone) from the rollups; days without
-- mail are zero rows. The original design's columns first.
-- params: tenant_id uuid (NULL: every tenant), since date, until date
WITH days AS (
    SELECT d::date AS day
    FROM generate_series(%(since)s::date, %(until)s::date, interval '1 day') AS d
),
counted AS (
    SELECT day,
           sum(messages) AS total,
           sum(messages) FILTER (WHERE direction = 'inbound') AS inbound,
           sum(messages) FILTER (WHERE direction = 'outbound') AS outbound,
           sum(messages) FILTER (WHERE direction = 'outbound'
                                   AND status NOT IN ('bounced', 'failed')) AS delivered,
           sum(messages) FILTER (WHERE direction = 'inbound'
                                   AND message_type = 'bounce') AS bounced,
           sum(replies) FILTER (WHERE direction = 'inbound'
                                  AND message_type = 'email') AS replied,
           sum(messages) FILTER (WHERE direction = 'inbound'
                                   AND message_type = 'complaint') AS complained
    FROM message_rollups
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND day BETWEEN %(since)s::date AND %(until)s::date
    GROUP BY day
)
SELECT d.day AS date,
       coalesce(c.total, 0)::bigint AS total_emails,
       coalesce(c.inbound, 0)::bigint AS inbound_emails,
       coalesce(c.outbound, 0)::bigint AS outbound_emails,
       coalesce(c.delivered, 0)::bigint AS delivered_emails,
       coalesce(c.bounced, 0)::bigint AS bounced_emails,
       coalesce(c.replied, 0)::bigint AS replied_emails,
       coalesce(c.complained, 0)::bigint AS complained_emails
FROM days AS d
LEFT JOIN counted AS c USING (day)
ORDER BY d.day;
