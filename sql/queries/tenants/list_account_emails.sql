-- The tenant's own mailbox addresses, lower-cased (outbound when they send).
-- params: tenant_id uuid
SELECT lower(email) AS email FROM email_accounts WHERE tenant_id = %(tenant_id)s;
