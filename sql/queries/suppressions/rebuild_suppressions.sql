-- Write the suppressions of one tenant (NULL: of every tenant in scope) from the
-- stored evidence (suppressions_expected), after clear_suppressions.
-- params: tenant_id uuid
INSERT INTO suppressions (tenant_id, address, reason, detail, evidence, first_key,
    first_at, last_key, last_at, campaign_id, lead_id)
SELECT tenant_id, address, reason, detail, evidence, first_key, first_at, last_key,
       last_at, campaign_id, lead_id
FROM suppressions_expected
WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid;
