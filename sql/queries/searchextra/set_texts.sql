-- Store the extra and enclosed search text of stored messages (NULL: none).
-- params: tenant_id uuid, keys text[], extra text[], enclosed text[]
UPDATE email_content AS c
SET search_extra = u.extra, search_enclosed = u.enclosed
FROM unnest(%(keys)s::text[], %(extra)s::text[], %(enclosed)s::text[])
    AS u (storage_key, extra, enclosed)
WHERE c.tenant_id = %(tenant_id)s AND c.storage_key = u.storage_key
  AND (c.search_extra IS DISTINCT FROM u.extra
       OR c.search_enclosed IS DISTINCT FROM u.enclosed);
