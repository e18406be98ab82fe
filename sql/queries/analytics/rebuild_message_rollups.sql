-- Recompute message_rollups from email_messages for one tenant (NULL: every tenant).
-- params: tenant_id uuid
INSERT INTO message_rollups (tenant_id, day, campaign_id, email_account_id, direction,
    message_type, status, bounce_class, bounce_reason, messages, raw_bytes, attachments,
    replies)
SELECT tenant_id, pmail_tenant_day(tenant_id, created), campaign_id, email_account_id,
       direction, message_type, status, bounce_class, bounce_reason, count(*),
       sum(coalesce(raw_size_bytes, 0)), sum(attachment_count), sum(is_reply::int)
FROM email_messages
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
