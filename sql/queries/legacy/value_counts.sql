-- How often each value of one column of the legacy refs occurs ({column}: its name).
-- params: none
SELECT {column}::text AS value, count(*) AS n
FROM {refs}
GROUP BY 1
ORDER BY 2 DESC, 1;
