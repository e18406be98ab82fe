-- Failed recipients of bounces by reporting MTA, from the delivery facts of the bounces
-- that arrived in the window.
-- params: tenant_id uuid (NULL: every tenant), since timestamptz, until timestamptz
SELECT lower(coalesce(f.remote_mta, '')) AS remote_mta,
       count(*) AS recipients,
       count(*) FILTER (WHERE f.hard) AS hard,
       count(*) FILTER (WHERE NOT f.hard) AS soft,
       mode() WITHIN GROUP (ORDER BY f.reason) AS top_reason
FROM email_messages AS m
JOIN delivery_facts AS f ON f.tenant_id = m.tenant_id AND f.storage_key = m.storage_key
WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
  AND m.message_type = 'bounce'
  AND m.created >= %(since)s AND m.created < %(until)s
GROUP BY 1
ORDER BY recipients DESC, 1
LIMIT 200;
