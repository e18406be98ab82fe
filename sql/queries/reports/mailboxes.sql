-- Per sending account: what it sent and what came back to it (inbound mail inherits
-- the account of the message it answers), by arrival day, from the rollups.
-- params: tenant_id uuid (NULL: every tenant), since date, until date,
--   start timestamptz (a rolling window's first instant; NULL: whole days),
--   block_reasons text[]
SELECT email_account_id,
       coalesce(sum(messages) FILTER (WHERE direction = 'outbound'), 0)::bigint AS sent,
       coalesce(sum(messages) FILTER (WHERE message_type = 'bounce'), 0)::bigint AS bounced,
       coalesce(sum(messages) FILTER (WHERE message_type = 'bounce'
                                        AND bounce_class = 'hard'), 0)::bigint AS hard_bounced,
       coalesce(sum(messages) FILTER (WHERE message_type = 'bounce'
                                        AND bounce_reason = ANY(%(block_reasons)s)), 0)::bigint
           AS blocked,
       coalesce(sum(messages) FILTER (WHERE message_type = 'complaint'), 0)::bigint
           AS complained,
       coalesce(sum(replies) FILTER (WHERE direction = 'inbound'
                                       AND message_type = 'email'), 0)::bigint AS replied
FROM pmail_message_rollups_window(%(tenant_id)s::uuid, %(since)s::date, %(until)s::date,
                                   %(start)s::timestamptz)
WHERE email_account_id IS NOT NULL
GROUP BY email_account_id
ORDER BY sent DESC, email_account_id;
