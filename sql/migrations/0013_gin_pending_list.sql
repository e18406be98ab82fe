-- Fewer bytes for the GIN indexes the writer fills (search documents, address tokens,
-- link keys): their pending list of not-yet-merged entries is flushed into the index
-- at 64 kB instead of the server's default 4 MB. A long pending list is stored loosely
-- and its pages are not given back after the merge: on 10,000 templated messages the
-- search index took 1,089 bytes a message with the default (docs/performance.md).
ALTER INDEX idx_email_content_search SET (gin_pending_list_limit = 64);
ALTER INDEX idx_email_messages_addresses SET (gin_pending_list_limit = 64);
ALTER INDEX idx_email_messages_unlinked SET (gin_pending_list_limit = 64);
