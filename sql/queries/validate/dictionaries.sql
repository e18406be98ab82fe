-- Every dictionary of one tenant (NULL: of every tenant), for --deep.
-- params: tenant_id uuid
SELECT tenant_id::text, dict_id, dict_data FROM compression_dicts
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
