-- The legacy rows an anomaly of one kind is recorded for already.
-- params: kind text
SELECT legacy_table, legacy_key
FROM migration_anomalies
WHERE kind = %(kind)s;
