-- Bytes per day from the rollups: as the messages arrived against what is stored
-- (compressed raw forms plus attachment files first stored that day), and what
-- storing each file once saved. Days without mail are zero rows. With `start` (a
-- rolling window) the first day is partial: counted from `start` on.
-- params: tenant_id uuid (NULL: every tenant), since date, until date,
--   start timestamptz (a rolling window's first instant; NULL: whole days)
WITH counted AS (
    SELECT day, sum(messages) AS messages, sum(raw_bytes) AS raw_bytes,
           sum(stored_bytes + blob_stored_bytes) AS stored_bytes,
           sum(attachment_bytes) AS attachment_bytes, sum(blob_bytes) AS blob_bytes
    FROM pmail_storage_rollups_window(%(tenant_id)s::uuid, %(since)s::date,
                                       %(until)s::date, %(start)s::timestamptz)
    GROUP BY day
),
days AS (  -- every day of the window; with --all-tenants, a tenant's own first day too
    SELECT d::date AS day
    FROM generate_series(%(since)s::date, %(until)s::date, interval '1 day') AS d
    UNION
    SELECT day FROM counted
)
SELECT d.day AS date,
       coalesce(c.messages, 0)::bigint AS messages,
       coalesce(c.raw_bytes, 0)::bigint AS raw_bytes,
       coalesce(c.stored_bytes, 0)::bigint AS stored_bytes,
       CASE WHEN coalesce(c.stored_bytes, 0) > 0
            THEN round(c.raw_bytes::numeric / c.stored_bytes, 2) END AS compression_ratio,
       coalesce(c.attachment_bytes, 0)::bigint AS attachment_bytes,
       greatest(coalesce(c.attachment_bytes, 0) - coalesce(c.blob_bytes, 0), 0)::bigint
           AS dedup_saved_bytes
FROM days AS d
LEFT JOIN counted AS c USING (day)
ORDER BY d.day;
