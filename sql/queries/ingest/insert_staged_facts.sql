-- Move staged DSN recipient facts of the newly inserted messages in.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO delivery_facts (
    tenant_id, storage_key, recipient_index, recipient, action, status, reply_code,
    diagnostic_code, remote_mta, reason, hard)
SELECT tenant_id, storage_key, recipient_index, recipient, action, status, reply_code,
       diagnostic_code, remote_mta, reason, hard
FROM pmail_stage_facts
WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new);
