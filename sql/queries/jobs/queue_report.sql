-- Jobs per day in the window: how many, how they ended, how long from enqueue to
-- stored (median, p95, max, in milliseconds).
-- params: tenant_id uuid (NULL: every tenant), start timestamptz, stop timestamptz
SELECT finished::date AS day,
       count(*) AS jobs,
       count(*) FILTER (WHERE outcome = 'stored') AS stored,
       count(*) FILTER (WHERE outcome = 'duplicate') AS duplicates,
       count(*) FILTER (WHERE outcome = 'done') AS done,
       count(*) FILTER (WHERE outcome = 'dead') AS dead,
       count(*) FILTER (WHERE attempts > 1) AS retried,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished - enqueued)) * 1000) AS p50_ms,
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished - enqueued)) * 1000) AS p95_ms,
       round(max(extract(epoch FROM finished - enqueued)) * 1000) AS max_ms
FROM job_log
WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND finished >= %(start)s AND finished < %(stop)s
GROUP BY 1
ORDER BY 1;
