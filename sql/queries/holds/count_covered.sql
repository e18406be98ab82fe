-- How many stored messages a hold covers, counted after it was added.
-- params: tenant_id uuid, scope text, value text
SELECT count(*)
FROM email_messages AS m
WHERE m.tenant_id = %(tenant_id)s
  AND pmail_hold_covers(%(scope)s, %(value)s, m.storage_key, m.lead_id, m.campaign_id,
                        m.email_account_id);
