-- Per campaign: outbound messages sent and inbound mail that answered them, by arrival
-- day, from the rollups. `block_reasons`: the bounce reasons counted as blocks.
-- params: tenant_id uuid (NULL: every tenant), since date, until date,
--   start timestamptz (a rolling window's first instant; NULL: whole days),
--   block_reasons text[]
SELECT campaign_id,
       sum(messages) FILTER (WHERE direction = 'outbound')::bigint AS sent,
       coalesce(sum(replies) FILTER (WHERE direction = 'inbound'
                                       AND message_type = 'email'), 0)::bigint AS replied,
       coalesce(sum(messages) FILTER (WHERE message_type = 'auto_reply'), 0)::bigint
           AS auto_replied,
       coalesce(sum(messages) FILTER (WHERE message_type = 'bounce'
                                        AND bounce_class = 'hard'), 0)::bigint AS hard_bounced,
       coalesce(sum(messages) FILTER (WHERE message_type = 'bounce'
                                        AND bounce_class IS DISTINCT FROM 'hard'), 0)::bigint
           AS soft_bounced,
       coalesce(sum(messages) FILTER (WHERE message_type = 'bounce'
                                        AND bounce_reason = ANY(%(block_reasons)s)), 0)::bigint
           AS blocked,
       coalesce(sum(messages) FILTER (WHERE message_type = 'complaint'), 0)::bigint
           AS complained
FROM pmail_message_rollups_window(%(tenant_id)s::uuid, %(since)s::date, %(until)s::date,
                                   %(start)s::timestamptz)
WHERE campaign_id IS NOT NULL
GROUP BY campaign_id
ORDER BY sent DESC NULLS LAST, campaign_id;
