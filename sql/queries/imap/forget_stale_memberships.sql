-- Drop folder memberships recorded under an older UIDVALIDITY (their UIDs mean nothing now).
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint
DELETE FROM imap_messages
WHERE tenant_id = %(tenant_id)s AND email_account_id = %(email_account_id)s
  AND folder = %(folder)s AND uidvalidity <> %(uidvalidity)s;
