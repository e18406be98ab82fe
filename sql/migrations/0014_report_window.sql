-- Rolling report windows: `pmail report … --days N` counts what the seed's
-- `created >= now() - interval 'N days'` counts (docs/reports.md). The whole days come
-- from the rollups; the first day is partial (it starts at the window's first
-- instant), so it is counted from the base tables, through (tenant_id, created)
-- indexes. email_messages has had one since the first migration; the storage report
-- reads email_content, attachments and attachment_blobs by `created` too.
CREATE INDEX IF NOT EXISTS idx_email_content_created ON email_content (tenant_id, created);
CREATE INDEX IF NOT EXISTS idx_attachments_created ON attachments (tenant_id, created);
CREATE INDEX IF NOT EXISTS idx_attachment_blobs_created
    ON attachment_blobs (tenant_id, created);

-- The instant `days` days before `at` on the clocks of `zone`: what `at - interval
-- 'N days'` gives in a session whose TimeZone is `zone` (the same time of day, also
-- across a change to or from summer time).
CREATE OR REPLACE FUNCTION pmail_days_before(at timestamptz, days integer, zone text)
RETURNS timestamptz
LANGUAGE sql STABLE
RETURN ((at AT TIME ZONE zone) - make_interval(days => days)) AT TIME ZONE zone;

-- The midnight that ends the day `at` falls on in `zone`.
CREATE OR REPLACE FUNCTION pmail_day_end(at timestamptz, zone text) RETURNS timestamptz
LANGUAGE sql STABLE
RETURN ((at AT TIME ZONE zone)::date + 1)::timestamp AT TIME ZONE zone;

-- The message_rollups rows of a report window, for one tenant (or every tenant: NULL).
-- Without `start`: the rollups of the days since..until. With `start` (a rolling
-- window): the rollups of the days after the day `start` falls on (in each tenant's
-- zone) up to `until`, and that first day counted from email_messages from `start`
-- on, in the rollups' shape. (A day ends at most 26 hours after any instant in it:
-- the constant bound lets the planner read each tenant's (tenant_id, created) index
-- for that day only, whatever the tenant's zone.)
CREATE OR REPLACE FUNCTION pmail_message_rollups_window(
    tenant uuid, since date, until date, start timestamptz
) RETURNS SETOF message_rollups
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT r.tenant_id, r.day, r.campaign_id, r.email_account_id, r.direction,
           r.message_type, r.status, r.bounce_class, r.bounce_reason, r.messages,
           r.raw_bytes, r.attachments, r.replies
    FROM message_rollups AS r
    JOIN tenants AS t ON t.tenant_id = r.tenant_id
    WHERE (tenant IS NULL OR r.tenant_id = tenant)
      AND r.day BETWEEN since AND until
      AND (start IS NULL OR r.day > (start AT TIME ZONE t.time_zone)::date)
    UNION ALL
    SELECT m.tenant_id, (m.created AT TIME ZONE t.time_zone)::date, m.campaign_id,
           m.email_account_id, m.direction, m.message_type, m.status, m.bounce_class,
           m.bounce_reason, count(*), sum(coalesce(m.raw_size_bytes, 0))::bigint,
           sum(m.attachment_count)::bigint, sum(m.is_reply::int)::bigint
    FROM tenants AS t
    JOIN email_messages AS m ON m.tenant_id = t.tenant_id
    WHERE start IS NOT NULL
      AND (tenant IS NULL OR t.tenant_id = tenant)
      AND m.created >= start
      AND m.created < pmail_day_end(start, t.time_zone)
      AND m.created < start + interval '2 days'  -- the same, for the index
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
END;

-- The storage_rollups rows of a report window, as pmail_message_rollups_window: the
-- first day of a rolling window counted from email_content, attachments and
-- attachment_blobs from `start` on.
CREATE OR REPLACE FUNCTION pmail_storage_rollups_window(
    tenant uuid, since date, until date, start timestamptz
) RETURNS SETOF storage_rollups
LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT r.tenant_id, r.day, r.messages, r.raw_bytes, r.stored_bytes, r.attachment_refs,
           r.attachment_bytes, r.blobs, r.blob_bytes, r.blob_stored_bytes
    FROM storage_rollups AS r
    JOIN tenants AS t ON t.tenant_id = r.tenant_id
    WHERE (tenant IS NULL OR r.tenant_id = tenant)
      AND r.day BETWEEN since AND until
      AND (start IS NULL OR r.day > (start AT TIME ZONE t.time_zone)::date)
    UNION ALL
    SELECT p.tenant_id, p.day, sum(p.messages)::bigint, sum(p.raw_bytes)::bigint,
           sum(p.stored_bytes)::bigint, sum(p.attachment_refs)::bigint,
           sum(p.attachment_bytes)::bigint, sum(p.blobs)::bigint, sum(p.blob_bytes)::bigint,
           sum(p.blob_stored_bytes)::bigint
    FROM (
        SELECT c.tenant_id, (c.created AT TIME ZONE t.time_zone)::date AS day,
               1 AS messages, c.raw_size_bytes AS raw_bytes,
               c.compressed_size_bytes AS stored_bytes, 0 AS attachment_refs,
               0 AS attachment_bytes, 0 AS blobs, 0 AS blob_bytes, 0 AS blob_stored_bytes
        FROM tenants AS t
        JOIN email_content AS c ON c.tenant_id = t.tenant_id
        WHERE start IS NOT NULL
          AND (tenant IS NULL OR t.tenant_id = tenant)
          AND c.created >= start
          AND c.created < pmail_day_end(start, t.time_zone)
          AND c.created < start + interval '2 days'  -- the same, for the index
        UNION ALL
        SELECT a.tenant_id, (a.created AT TIME ZONE t.time_zone)::date, 0, 0, 0, 1,
               a.size_bytes, 0, 0, 0
        FROM tenants AS t
        JOIN attachments AS a ON a.tenant_id = t.tenant_id
        WHERE start IS NOT NULL
          AND (tenant IS NULL OR t.tenant_id = tenant)
          AND a.created >= start
          AND a.created < pmail_day_end(start, t.time_zone)
          AND a.created < start + interval '2 days'  -- the same, for the index
        UNION ALL
        SELECT b.tenant_id, (b.created AT TIME ZONE t.time_zone)::date, 0, 0, 0, 0, 0, 1,
               b.size_bytes, b.compressed_size_bytes
        FROM tenants AS t
        JOIN attachment_blobs AS b ON b.tenant_id = t.tenant_id
        WHERE start IS NOT NULL
          AND (tenant IS NULL OR t.tenant_id = tenant)
          AND b.created >= start
          AND b.created < pmail_day_end(start, t.time_zone)
          AND b.created < start + interval '2 days'  -- the same, for the index
    ) AS p
    GROUP BY 1, 2;
END;
