-- Register a legacy sending account under its legacy id; returns whether it was added.
-- params: tenant_id uuid, email_account_id uuid, email text
INSERT INTO email_accounts (tenant_id, email_account_id, email)
VALUES (%(tenant_id)s, %(email_account_id)s, %(email)s)
ON CONFLICT DO NOTHING
RETURNING email_account_id;
