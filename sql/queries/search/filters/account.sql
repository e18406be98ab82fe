-- The sending account, by id or address.
AND m.email_account_id IN (
    SELECT a.email_account_id FROM email_accounts AS a
    WHERE a.tenant_id = %(tenant_id)s
      AND (a.email_account_id::text = lower(%(account)s) OR lower(a.email) = lower(%(account)s)))
