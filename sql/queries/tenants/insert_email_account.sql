-- Register one of the tenant's sending mailboxes; returns its id.
-- params: tenant_id uuid, email text, display_name text
WITH ins AS (
    INSERT INTO email_accounts (tenant_id, email, display_name)
    VALUES (%(tenant_id)s, lower(%(email)s), %(display_name)s)
    ON CONFLICT (tenant_id, email) DO NOTHING
    RETURNING email_account_id
)
SELECT email_account_id FROM ins
UNION ALL
SELECT email_account_id FROM email_accounts
WHERE tenant_id = %(tenant_id)s AND email = lower(%(email)s)
LIMIT 1;
