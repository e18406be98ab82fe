-- Messages per arrival day (the tenant's time zone) from the rollups; days without
-- mail are zero rows. The original design's columns first. With `start` (a rolling
-- window) the first day is partial: counted from `start` on (docs/reports.md).
-- params: tenant_id uuid (NULL: every tenant), since date, until date,
--   start timestamptz (a rolling window's first instant; NULL: whole days)
WITH counted AS (
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
    FROM pmail_message_rollups_window(%(tenant_id)s::uuid, %(since)s::date,
                                       %(until)s::date, %(start)s::timestamptz)
    GROUP BY day
),
days AS (  -- every day of the window; with --all-tenants, a tenant's own first day too
    SELECT d::date AS day
    FROM generate_series(%(since)s::date, %(until)s::date, interval '1 day') AS d
    UNION
    SELECT day FROM counted
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
