-- A message's metadata and storage facts, by storage key or key prefix (up to six
-- matches: more than one is an ambiguous prefix, listed to the user).
-- params: tenant_id uuid, key text
SELECT m.storage_key, m.message_id, m.direction, m.message_type, m.status,
       m.from_email, m.from_name, m.to_email, m.cc_email, m.subject, m.sent_at,
       m.in_reply_to, m.parent_message_id, m.parent_storage_key, m.campaign_id,
       m.lead_id, m.email_account_id, m.is_reply, m.original_message_id, m.feedback_type,
       m.auto_reply_until, m.attachment_count, m.parse_problems, m.source,
       m.created, m.purged_at,
       c.raw_size_bytes, c.compressed_size_bytes, c.raw_form, c.compression, c.dict_id,
       encode(c.raw_sha256, 'hex') AS raw_sha256
FROM email_messages AS m
LEFT JOIN email_content AS c ON c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
WHERE m.tenant_id = %(tenant_id)s
  AND (m.storage_key = %(key)s OR m.storage_key LIKE %(prefix)s)
ORDER BY m.storage_key
LIMIT 6;
