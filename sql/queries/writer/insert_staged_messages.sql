-- Move staged message rows in, skipping any the tenant already has; returns the new keys
-- and records them in pmail_stage_new for the statements that follow.
-- {columns}: tenant_id and the fields of rows.MessageRow.
-- params: none
WITH inserted AS (
    INSERT INTO email_messages ({columns})
    SELECT {columns}
    FROM pmail_stage_messages
    ON CONFLICT DO NOTHING
    RETURNING storage_key
)
INSERT INTO pmail_stage_new (storage_key)
SELECT storage_key FROM inserted
RETURNING storage_key;
