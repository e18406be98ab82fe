-- Let the current transaction see every tenant's rows (cross-tenant commands); ends
-- with the transaction.
-- params: none
SELECT set_config('pmail.all_tenants', 'on', true);
