-- Refresh planner statistics for what ingest itself looks up, as the tables grow during
-- a long ingest: without them, foreign-key checks may pick a tenant-wide index scan and
-- every insert gets slower as the tables grow (seen with autovacuum off). Only the
-- tables ingest reads or references: email_messages whole (linking needs the
-- statistics of its md5(message_id) index expression and link_keys, which a column
-- list would skip), the others by the columns looked up.
-- params: none
ANALYZE email_messages,
        email_content (tenant_id, storage_key),
        attachment_blobs (tenant_id, sha256),
        imap_folders;
