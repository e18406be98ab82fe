-- The tenant's newest compression dictionary.
-- params: tenant_id uuid
SELECT dict_id, dict_data FROM compression_dicts
WHERE tenant_id = %(tenant_id)s
ORDER BY dict_id DESC
LIMIT 1;
