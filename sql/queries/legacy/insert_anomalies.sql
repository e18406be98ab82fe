-- Record anomalies; one already recorded (same kind, table and key) is kept as it is.
-- params: kinds text[], tables text[], keys text[], tenant_ids uuid[], details text[],
--         hashes bytea[], data bytea[]
INSERT INTO migration_anomalies (kind, legacy_table, legacy_key, tenant_id, detail, sha256, data)
SELECT * FROM unnest(%(kinds)s::text[], %(tables)s::text[], %(keys)s::text[],
                     %(tenant_ids)s::uuid[], %(details)s::text[], %(hashes)s::bytea[],
                     %(data)s::bytea[])
ON CONFLICT (pmail_unmatchable(kind), pmail_unmatchable(legacy_table),
             pmail_unmatchable(legacy_key)) DO NOTHING;
