-- Move staged attachment rows of the newly inserted messages in.
-- {columns}: tenant_id and the fields of rows.AttachmentRow.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO attachments ({columns})
SELECT {columns}
FROM pmail_stage_attachments
WHERE parent_storage_key IN (SELECT storage_key FROM pmail_stage_new);
