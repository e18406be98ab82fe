-- Session-local staging tables for one ingest batch; emptied at every commit.
-- COPY cannot write to tables under row-level security, so batches are copied here
-- and moved with INSERT ... SELECT.
-- params: none
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_messages
    (LIKE email_messages INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_content
    (LIKE email_content INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_attachments
    (LIKE attachments INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_blobs
    (LIKE attachment_blobs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_facts
    (LIKE delivery_facts INCLUDING DEFAULTS) ON COMMIT DELETE ROWS;
-- the storage keys this batch actually inserted (the rest were stored already)
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_new
    (storage_key varchar(500) PRIMARY KEY) ON COMMIT DELETE ROWS;
