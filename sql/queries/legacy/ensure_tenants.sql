-- Every tenant of the legacy tables, as a pmail tenant named by its id.
-- params: none
INSERT INTO tenants (tenant_id, name)
SELECT t.tenant_id, t.tenant_id::text
FROM (SELECT DISTINCT tenant_id FROM {refs}
      UNION SELECT DISTINCT tenant_id FROM {content}) AS t
WHERE t.tenant_id IS NOT NULL
ON CONFLICT DO NOTHING;
