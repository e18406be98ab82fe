-- Rewrite the sizes that can be recomputed from what is stored: compressed sizes from
-- the bytes themselves; a message's missing raw size from its content row's (the only
-- size recorded: nothing to choose between; messages migrated by pmail before it copied
-- the size have none); with message_sizes (--deep has just proved every content row's
-- raw size), every message's raw size from its content row's. Returns how many rows
-- changed.
-- params: tenant_id uuid (NULL: every tenant), message_sizes boolean
WITH content AS (
    UPDATE email_content SET compressed_size_bytes = coalesce(octet_length(raw_data), 0)
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND compressed_size_bytes <> coalesce(octet_length(raw_data), 0)
    RETURNING 1
),
files AS (
    UPDATE attachment_blobs SET compressed_size_bytes = octet_length(data)
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND compressed_size_bytes <> octet_length(data)
    RETURNING 1
),
messages AS (
    UPDATE email_messages AS m SET raw_size_bytes = c.raw_size_bytes
    FROM email_content AS c
    WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key
      AND (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
      AND m.raw_size_bytes IS DISTINCT FROM c.raw_size_bytes
      AND (%(message_sizes)s OR m.raw_size_bytes IS NULL)
    RETURNING 1
)
SELECT (SELECT count(*) FROM content) + (SELECT count(*) FROM files)
       + (SELECT count(*) FROM messages);
