-- The import state of one folder of one account.
-- params: tenant_id uuid, email_account_id uuid, folder text
SELECT uidvalidity, last_uid, highest_modseq
FROM imap_folders
WHERE tenant_id = %(tenant_id)s AND email_account_id = %(email_account_id)s
  AND folder = %(folder)s;
