-- The messages linked to this one as their parent (replies, bounces, auto-replies).
-- params: tenant_id uuid, storage_key text
SELECT storage_key, message_type, from_email, subject, coalesce(sent_at, created) AS at
FROM email_messages
WHERE tenant_id = %(tenant_id)s AND parent_storage_key = %(storage_key)s
ORDER BY at, storage_key;
