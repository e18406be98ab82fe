-- The sending accounts the legacy message rows name (before pmail's schema exists,
-- every one of them is an account pmail lacks).
-- params: none
SELECT DISTINCT tenant_id, email_account_id, NULL::text AS email
FROM {refs}
WHERE email_account_id IS NOT NULL;
