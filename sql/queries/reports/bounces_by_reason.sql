-- Bounces by reason and hardness, by arrival day, from the rollups.
-- params: tenant_id uuid (NULL: every tenant), since date, until date,
--   start timestamptz (a rolling window's first instant; NULL: whole days)
SELECT coalesce(bounce_reason, 'undefined') AS reason,
       sum(messages)::bigint AS bounces,
       coalesce(sum(messages) FILTER (WHERE bounce_class = 'hard'), 0)::bigint AS hard,
       coalesce(sum(messages) FILTER (WHERE bounce_class IS DISTINCT FROM 'hard'), 0)::bigint
           AS soft
FROM pmail_message_rollups_window(%(tenant_id)s::uuid, %(since)s::date, %(until)s::date,
                                   %(start)s::timestamptz)
WHERE message_type = 'bounce'
GROUP BY 1
HAVING sum(messages) > 0
ORDER BY bounces DESC, reason;
