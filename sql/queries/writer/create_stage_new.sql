-- The storage keys a batch actually inserted (the rest were stored already); emptied
-- at every commit.
-- params: none
CREATE TEMP TABLE IF NOT EXISTS pmail_stage_new
    (storage_key varchar(500) PRIMARY KEY) ON COMMIT DELETE ROWS;
