-- The stored raw forms of some messages, with what is needed to rebuild them.
-- params: tenant_id uuid, keys text[]
SELECT c.storage_key, c.raw_form, c.raw_data, c.raw_splices, c.compression, c.dict_id,
       c.raw_sha256, c.raw_size_bytes, m.from_email, coalesce(m.sent_at, m.created) AS at
FROM email_content AS c
JOIN email_messages AS m ON m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
WHERE c.tenant_id = %(tenant_id)s AND c.storage_key = ANY(%(keys)s);
