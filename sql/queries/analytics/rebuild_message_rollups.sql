-- Recompute message_rollups from email_messages for one tenant (NULL: every tenant).
-- params: tenant_id uuid
INSERT INTO message_rollups (tenant_id, day, campaign_id, email_account_id, direction,
    message_type, status, bounce_class, bounce_reason, messages, raw_bytes, attachments,
    replies)
SELECT tenant_id, day, campaign_id, email_account_id, direction, message_type, status,
       bounce_class, bounce_reason, messages, raw_bytes, attachments, replies
FROM message_rollups_expected
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
