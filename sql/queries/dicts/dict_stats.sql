-- How many of the tenant's messages are stored with and without a dictionary.
-- params: tenant_id uuid
SELECT count(*) FILTER (WHERE compression = 'zstd-dict') AS with_dict,
       count(*) FILTER (WHERE compression <> 'zstd-dict') AS without_dict,
       (SELECT count(*) FROM compression_dicts d WHERE d.tenant_id = %(tenant_id)s) AS dicts
FROM email_content
WHERE tenant_id = %(tenant_id)s;
