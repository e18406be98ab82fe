-- The tenant's dictionaries with how many rows use each.
-- params: tenant_id uuid
SELECT d.dict_id, d.zstd_dict_id, octet_length(d.dict_data) AS size_bytes, d.sample_count,
       d.created,
       (SELECT count(*) FROM email_content c
        WHERE c.tenant_id = d.tenant_id AND c.dict_id = d.dict_id) AS messages
FROM compression_dicts AS d
WHERE d.tenant_id = %(tenant_id)s
ORDER BY d.dict_id;
