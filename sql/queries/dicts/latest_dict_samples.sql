-- The tenant's newest dictionary with what it was trained on (count and bytes).
-- params: tenant_id uuid
SELECT dict_id, dict_data, sample_count, sample_bytes FROM compression_dicts
WHERE tenant_id = %(tenant_id)s
ORDER BY dict_id DESC
LIMIT 1;
