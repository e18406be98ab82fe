-- Refresh planner statistics for what ingest itself looks up, as the tables grow during
-- a long ingest: without them, foreign-key checks may pick a tenant-wide index scan and
-- every insert gets slower as the tables grow (seen with autovacuum off). Only the
-- referenced tables and the columns ingest filters or joins on: a full ANALYZE of
-- email_messages and email_content costs 3x as much and is autovacuum's job.
-- params: none
ANALYZE email_messages (tenant_id, storage_key, message_id, direction, status,
                        parent_storage_key),
        email_content (tenant_id, storage_key),
        attachment_blobs (tenant_id, sha256),
        imap_folders;
