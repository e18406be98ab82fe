-- Addresses of sending accounts in pmail's own email_accounts table.
-- params: ids uuid[]
SELECT email_account_id, email FROM email_accounts WHERE email_account_id = ANY(%(ids)s);
