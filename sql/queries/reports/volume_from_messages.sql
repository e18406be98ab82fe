-- The volume report computed from email_messages, for a time zone other than the
-- tenant's own or for the messages' own dates (`--by sent`): slower than the rollups.
-- With `start` (a rolling window) the first day counts from that instant on.
-- params: tenant_id uuid (NULL: every tenant), since date, until date, tz text, by_sent bool,
--   start timestamptz (a rolling window's first instant; NULL: whole days)
WITH days AS (
    SELECT d::date AS day
    FROM generate_series(%(since)s::date, %(until)s::date, interval '1 day') AS d
),
dated AS (
    SELECT (CASE WHEN %(by_sent)s THEN coalesce(sent_at, created) ELSE created END
            AT TIME ZONE %(tz)s)::date AS day,
           direction, message_type, status, is_reply
    FROM email_messages
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND CASE WHEN %(by_sent)s THEN coalesce(sent_at, created) ELSE created END
          >= (%(since)s::date - 1)::timestamp AT TIME ZONE %(tz)s
      AND CASE WHEN %(by_sent)s THEN coalesce(sent_at, created) ELSE created END
          < (%(until)s::date + 2)::timestamp AT TIME ZONE %(tz)s
      AND (%(start)s::timestamptz IS NULL
           OR CASE WHEN %(by_sent)s THEN coalesce(sent_at, created) ELSE created END
              >= %(start)s::timestamptz)
),
counted AS (
    SELECT day,
           count(*) AS total,
           count(*) FILTER (WHERE direction = 'inbound') AS inbound,
           count(*) FILTER (WHERE direction = 'outbound') AS outbound,
           count(*) FILTER (WHERE direction = 'outbound'
                              AND status NOT IN ('bounced', 'failed')) AS delivered,
           count(*) FILTER (WHERE direction = 'inbound' AND message_type = 'bounce')
               AS bounced,
           count(*) FILTER (WHERE direction = 'inbound' AND message_type = 'email'
                              AND is_reply) AS replied,
           count(*) FILTER (WHERE direction = 'inbound' AND message_type = 'complaint')
               AS complained
    FROM dated
    WHERE day BETWEEN %(since)s::date AND %(until)s::date
    GROUP BY day
)
SELECT d.day AS date,
       coalesce(c.total, 0) AS total_emails,
       coalesce(c.inbound, 0) AS inbound_emails,
       coalesce(c.outbound, 0) AS outbound_emails,
       coalesce(c.delivered, 0) AS delivered_emails,
       coalesce(c.bounced, 0) AS bounced_emails,
       coalesce(c.replied, 0) AS replied_emails,
       coalesce(c.complained, 0) AS complained_emails
FROM days AS d
LEFT JOIN counted AS c USING (day)
ORDER BY d.day;
