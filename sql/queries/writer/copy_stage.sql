-- COPY one batch of rows into a staging table; {stage} and {columns} come from the
-- table spec (src/pmail_cli/rows.py).
-- params: none (rows are streamed)
COPY {stage} ({columns}) FROM STDIN
