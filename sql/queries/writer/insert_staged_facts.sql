-- Move staged DSN recipient facts of the newly inserted messages in.
-- {columns}: tenant_id and the fields of rows.FactRow.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO delivery_facts ({columns})
SELECT {columns}
FROM pmail_stage_facts
WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new);
