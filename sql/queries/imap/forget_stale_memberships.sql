-- Drop folder memberships recorded under an older UIDVALIDITY (their UIDs mean nothing now).
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint
SELECT pmail_forget_imap_memberships(%(tenant_id)s::uuid, %(email_account_id)s::uuid,
                                     %(folder)s::text, %(uidvalidity)s::bigint);
