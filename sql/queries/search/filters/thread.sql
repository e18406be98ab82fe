-- The thread of %(thread)s: up its parent links to the first message, then every
-- message linked below that one (100 levels at most either way).
AND m.storage_key IN (
    WITH RECURSIVE up (storage_key, parent, depth) AS (
        SELECT s.storage_key, s.parent_storage_key, 0 FROM email_messages AS s
        WHERE s.tenant_id = %(tenant_id)s AND s.storage_key = %(thread)s
        UNION ALL
        SELECT p.storage_key, p.parent_storage_key, u.depth + 1
        FROM up AS u JOIN email_messages AS p
            ON p.tenant_id = %(tenant_id)s AND p.storage_key = u.parent
        WHERE u.depth < 100
    ), down (storage_key, depth) AS (
        SELECT r.storage_key, 0
        FROM (SELECT storage_key FROM up ORDER BY depth DESC LIMIT 1) AS r
        UNION ALL
        SELECT c.storage_key, d.depth + 1
        FROM down AS d JOIN email_messages AS c
            ON c.tenant_id = %(tenant_id)s AND c.parent_storage_key = d.storage_key
        WHERE d.depth < 100
    )
    SELECT storage_key FROM down)
