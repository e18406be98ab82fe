-- Forget refused messages that were stored since, or are no longer in the folder, and
-- every one recorded under another UIDVALIDITY (its UIDs mean nothing now).
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint, uids bigint[]
DELETE FROM imap_refused
WHERE tenant_id = %(tenant_id)s AND email_account_id = %(email_account_id)s
  AND folder = %(folder)s
  AND (uidvalidity <> %(uidvalidity)s OR uid = ANY (%(uids)s::bigint[]));
