-- Let the current transaction see every tenant's rows (cross-tenant commands); ends
-- with the transaction. Refused to a tenant login.
-- params: none
SELECT pmail_scope_all_tenants();
