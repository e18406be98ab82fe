-- Dictionaries by id, to read rows compressed with any of them.
-- params: tenant_id uuid, dict_ids int[]
SELECT dict_id, dict_data FROM compression_dicts
WHERE tenant_id = %(tenant_id)s AND dict_id = ANY(%(dict_ids)s);
