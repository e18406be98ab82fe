-- How many messages stored by other means than the legacy migration carry each of these
-- Message-IDs, per tenant (the migration's duplicate_message_id check counts them).
-- params: ids text[]
SELECT tenant_id, message_id, count(*) AS n
FROM email_messages
WHERE message_id = ANY(%(ids)s) AND coalesce(source, '') NOT LIKE 'legacy:%%'
GROUP BY 1, 2;
