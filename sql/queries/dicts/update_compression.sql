-- Replace raw forms with the same bytes compressed with another dictionary.
-- params: tenant_id uuid, dict_id int, keys text[], data bytea[]
UPDATE email_content AS c
SET raw_data = u.data,
    compressed_size_bytes = octet_length(u.data),
    compression = 'zstd-dict',
    dict_id = %(dict_id)s
FROM unnest(%(keys)s::text[], %(data)s::bytea[]) AS u (storage_key, data)
WHERE c.tenant_id = %(tenant_id)s AND c.storage_key = u.storage_key;
