-- Refresh planner statistics of the tables ingest writes to. Run as they grow during a
-- long ingest: without statistics, foreign-key checks may pick a tenant-wide index scan
-- and every insert gets slower as the tables grow (seen with autovacuum off).
-- params: none
ANALYZE email_messages, email_content, attachments, attachment_blobs, delivery_facts,
        imap_messages, imap_folders;
