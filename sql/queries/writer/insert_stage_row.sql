-- Stage one row whose bytes are large (a big attachment file, a raw message kept
-- whole): bound as a binary parameter it reaches the server as it is, where COPY's
-- text form would hold it twice more, hex-encoded. The staging table, its columns
-- and one placeholder per column come from the table spec (rows.py).
-- params: the row's values, tenant_id first
INSERT INTO {stage} ({columns}) VALUES ({values})
