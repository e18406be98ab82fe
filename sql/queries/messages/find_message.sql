-- A message's metadata and storage facts, by storage key or key prefix (up to six
-- matches: more than one is an ambiguous prefix, listed to the user).
-- The whole key is looked up first, on the primary key: only when no message has it
-- is the key read as a prefix. LIKE alone cannot use the primary key under a
-- collation other than C, so a prefix is also given as the range
-- [low, high) (`high`: the prefix with its last character's code point plus one),
-- which the primary key serves. That range is exactly the keys with the prefix only
-- where storage_key compares by code point (`C`, `POSIX`, `C.UTF-8`: checked in the
-- catalog, `bytewise` below); under a linguistic collation a key with the prefix may
-- sort outside it (in Danish `aa` sorts after `z`: `aa1…` is not in ['a', 'b')),
-- so there, or when `high` is NULL (a prefix with a character outside printable
-- ASCII), the prefix is read with LIKE alone: every message of the tenant. The LIKE
-- stays the exact test in both branches (docs/performance.md, `pmail show PREFIX`).
-- params: tenant_id uuid, key text, prefix text (the key, LIKE wildcards escaped, and a trailing wildcard),
--         low text (the key), high text (NULL: no range)
WITH exact AS (
    SELECT m.storage_key
    FROM email_messages AS m
    WHERE m.tenant_id = %(tenant_id)s AND m.storage_key = %(key)s
), bytewise AS (
    SELECT coalesce(bool_and(CASE
        WHEN a.attcollation = 100 THEN  -- the database's default collation
            (SELECT coalesce(to_jsonb(d) ->> 'datlocprovider', 'c') = 'c'
                    AND d.datcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8')
             FROM pg_database AS d WHERE d.datname = current_database())
        ELSE (SELECT c.collprovider = 'c'
                     AND c.collcollate IN ('C', 'POSIX', 'C.UTF-8', 'C.utf8')
              FROM pg_collation AS c WHERE c.oid = a.attcollation)
    END), false) AS ok
    FROM pg_attribute AS a
    WHERE a.attrelid = 'email_messages'::regclass AND a.attname = 'storage_key'
), keys AS (
    SELECT storage_key FROM exact
    UNION ALL
    (SELECT m.storage_key
     FROM email_messages AS m
     WHERE m.tenant_id = %(tenant_id)s
       AND m.storage_key >= %(low)s AND m.storage_key < %(high)s
       AND m.storage_key LIKE %(prefix)s
       AND (SELECT ok FROM bytewise)
       AND NOT EXISTS (SELECT 1 FROM exact)
     ORDER BY m.storage_key
     LIMIT 6)
    UNION ALL
    (SELECT m.storage_key
     FROM email_messages AS m
     WHERE m.tenant_id = %(tenant_id)s AND m.storage_key LIKE %(prefix)s
       AND NOT (%(high)s::text IS NOT NULL AND (SELECT ok FROM bytewise))
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
