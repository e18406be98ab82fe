-- The tenant's own mailboxes: lower-cased address and id (mail they send is outbound).
-- params: tenant_id uuid
SELECT lower(email) AS email, email_account_id::text
FROM email_accounts
WHERE tenant_id = %(tenant_id)s;
