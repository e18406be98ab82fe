-- Move staged content rows of the newly inserted messages in.
-- {columns}: tenant_id and the fields of rows.ContentRow.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO email_content ({columns})
SELECT {columns}
FROM pmail_stage_content
WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new);
