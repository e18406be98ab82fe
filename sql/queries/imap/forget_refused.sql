-- Forget refused messages that were stored since, or are no longer in the folder, and
-- every one recorded under another UIDVALIDITY (its UIDs mean nothing now).
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint, uids bigint[]
SELECT pmail_forget_imap_refused(%(tenant_id)s::uuid, %(email_account_id)s::uuid,
                                 %(folder)s::text, %(uidvalidity)s::bigint,
                                 %(uids)s::bigint[]);
