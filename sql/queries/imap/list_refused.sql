-- The folder's messages refused for their size under this UIDVALIDITY, by UID.
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint
SELECT uid, size_bytes
FROM imap_refused
WHERE tenant_id = %(tenant_id)s AND email_account_id = %(email_account_id)s
  AND folder = %(folder)s AND uidvalidity = %(uidvalidity)s
ORDER BY uid;
