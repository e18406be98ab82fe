-- How many anomalies of each kind the migration recorded.
-- params: none
SELECT kind, count(*) AS n
FROM migration_anomalies
GROUP BY kind
ORDER BY kind;
