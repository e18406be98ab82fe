-- Create the campaigns and leads that outbound messages name but the tenant lacks.
-- params: none
WITH c AS (
    INSERT INTO campaigns (tenant_id, campaign_id)
    SELECT DISTINCT tenant_id, campaign_id FROM pmail_stage_messages
    WHERE campaign_id IS NOT NULL
    ON CONFLICT DO NOTHING
)
INSERT INTO leads (tenant_id, lead_id)
SELECT DISTINCT tenant_id, lead_id FROM pmail_stage_messages
WHERE lead_id IS NOT NULL
ON CONFLICT DO NOTHING;
