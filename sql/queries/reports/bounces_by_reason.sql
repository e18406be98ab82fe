-- Bounces by reason and hardness, by arrival day, from the rollups.
-- params: tenant_id uuid (NULL: every tenant), since date, until date
SELECT coalesce(bounce_reason, 'undefined') AS reason,
       sum(messages)::bigint AS bounces,
       coalesce(sum(messages) FILTER (WHERE bounce_class = 'hard'), 0)::bigint AS hard,
       coalesce(sum(messages) FILTER (WHERE bounce_class IS DISTINCT FROM 'hard'), 0)::bigint
           AS soft
FROM message_rollups
WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND day BETWEEN %(since)s::date AND %(until)s::date
  AND message_type = 'bounce'
GROUP BY 1
HAVING sum(messages) > 0
ORDER BY bounces DESC, reason;
