-- Jobs that went to the dead letters in the window, by error (its first line).
-- params: tenant_id uuid (NULL: every tenant), start timestamptz, stop timestamptz
SELECT job_type, split_part(coalesce(error, ''), E'\n', 1) AS error, count(*) AS jobs,
       max(finished) AS last
FROM job_log
WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND finished >= %(start)s AND finished < %(stop)s AND outcome = 'dead'
GROUP BY 1, 2
ORDER BY 3 DESC, 1, 2;
