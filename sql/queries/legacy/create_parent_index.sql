-- An index to look legacy attachments up by message, built without locking writers out.
-- params: none ({index}: its name, {attachments}: the table)
CREATE INDEX CONCURRENTLY IF NOT EXISTS {index} ON {attachments} (parent_storage_key);
