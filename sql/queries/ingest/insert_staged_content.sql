-- Move staged content rows of the newly inserted messages in.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO email_content (
    tenant_id, storage_key, content_text, raw_size_bytes,
    compressed_size_bytes, raw_sha256, raw_form, raw_data, raw_splices, compression, dict_id)
SELECT tenant_id, storage_key, content_text, raw_size_bytes,
       compressed_size_bytes, raw_sha256, raw_form, raw_data, raw_splices, compression, dict_id
FROM pmail_stage_content
WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new);
