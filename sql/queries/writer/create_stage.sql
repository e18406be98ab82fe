-- One session-local staging table shaped like a target table; emptied at every commit.
-- COPY cannot write to tables under row-level security, so batches are copied here
-- and moved with INSERT ... SELECT. {stage} and {table} come from the table spec
-- (src/pmail_cli/rows.py).
-- params: none
CREATE TEMP TABLE IF NOT EXISTS {stage}
    (LIKE {table} INCLUDING DEFAULTS INCLUDING COMPRESSION) ON COMMIT DELETE ROWS;
