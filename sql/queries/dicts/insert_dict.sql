-- Record a newly trained dictionary under the next id; returns that id.
-- params: tenant_id uuid, zstd_dict_id bigint, dict_data bytea, sample_count int, sample_bytes bigint
INSERT INTO compression_dicts (tenant_id, dict_id, zstd_dict_id, dict_data, sample_count, sample_bytes)
SELECT %(tenant_id)s, coalesce(max(dict_id), 0) + 1, %(zstd_dict_id)s, %(dict_data)s,
       %(sample_count)s, %(sample_bytes)s
FROM compression_dicts
WHERE tenant_id = %(tenant_id)s
RETURNING dict_id;
