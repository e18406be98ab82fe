-- A message's metadata and storage facts, by storage key or key prefix (up to six
-- matches: more than one is an ambiguous prefix, listed to the user).
-- The whole key is looked up first, on the primary key: only when no message has it
-- is the key read as a prefix. LIKE cannot use the primary key under the database's
-- collation, so the prefix search reads every message of the tenant (seconds at a
-- million); a next page (`pmail list --after KEY`) gives a whole key and never
-- pays that (docs/performance.md, Search).
-- params: tenant_id uuid, key text, prefix text (the key, LIKE wildcards escaped, and a trailing wildcard)
WITH exact AS (
    SELECT m.storage_key
    FROM email_messages AS m
    WHERE m.tenant_id = %(tenant_id)s AND m.storage_key = %(key)s
), keys AS (
    SELECT storage_key FROM exact
    UNION ALL
    (SELECT m.storage_key
     FROM email_messages AS m
     WHERE m.tenant_id = %(tenant_id)s AND m.storage_key LIKE %(prefix)s
       AND NOT EXISTS (SELECT 1 FROM exact)
     ORDER BY m.storage_key
     LIMIT 6)
)
SELECT m.storage_key, m.message_id, m.direction, m.message_type, m.status,
       m.from_email, m.from_name, m.to_email, m.cc_email, m.subject, m.sent_at,
       m.in_reply_to, m.parent_message_id, m.parent_storage_key, m.campaign_id,
       m.lead_id, m.email_account_id, m.is_reply, m.original_message_id,
       m.feedback_type, m.auto_reply_until, m.attachment_count, m.parse_problems,
       m.source, m.created, m.purged_at,
       c.raw_size_bytes, c.compressed_size_bytes, c.raw_form, c.compression, c.dict_id,
       encode(c.raw_sha256, 'hex') AS raw_sha256
FROM keys AS k
JOIN email_messages AS m
    ON m.tenant_id = %(tenant_id)s AND m.storage_key = k.storage_key
LEFT JOIN email_content AS c
    ON c.tenant_id = %(tenant_id)s AND c.storage_key = k.storage_key
ORDER BY m.storage_key;
