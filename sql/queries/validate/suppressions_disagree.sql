-- Suppression rows that differ from what the stored evidence says they should be
-- (missing, extra, or with other evidence, keys or campaign).
-- params: tenant_id uuid (NULL: every tenant)
WITH actual AS (
    SELECT tenant_id, address, reason, detail, evidence, first_key, first_at, last_key,
           last_at, campaign_id, lead_id
    FROM suppressions
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
),
expected AS (
    SELECT tenant_id, address, reason, detail, evidence, first_key, first_at, last_key,
           last_at, campaign_id, lead_id
    FROM suppressions_expected
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
),
diff AS ((SELECT * FROM actual EXCEPT ALL SELECT * FROM expected)
         UNION ALL (SELECT * FROM expected EXCEPT ALL SELECT * FROM actual))
SELECT DISTINCT tenant_id, 'suppressions ' || address || ' ' || reason AS item
FROM diff
