-- Move staged message rows in, skipping any the tenant already has; returns the new keys
-- and records them in pmail_stage_new for the statements that follow.
-- params: none
WITH inserted AS (
    INSERT INTO email_messages (
        tenant_id, storage_key, message_id, in_reply_to, references_ids, direction,
        message_type, status, from_email, from_name, to_email, cc_email, subject, sent_at,
        campaign_id, lead_id, email_account_id, attachment_count, parse_problems, source,
        is_reply, original_message_id, feedback_type, auto_reply_until, link_keys,
        parent_storage_key, parent_message_id, processed)
    SELECT tenant_id, storage_key, message_id, in_reply_to, references_ids, direction,
           message_type, status, from_email, from_name, to_email, cc_email, subject, sent_at,
           campaign_id, lead_id, email_account_id, attachment_count, parse_problems, source,
           is_reply, original_message_id, feedback_type, auto_reply_until, link_keys,
           parent_storage_key, parent_message_id, now()
    FROM pmail_stage_messages
    ON CONFLICT DO NOTHING
    RETURNING storage_key
)
INSERT INTO pmail_stage_new (storage_key)
SELECT storage_key FROM inserted
RETURNING storage_key;
