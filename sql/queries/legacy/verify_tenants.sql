-- Messages per tenant: legacy rows (refs and content without refs) against migrated.
-- params: none
WITH legacy AS (
    SELECT tenant_id, count(*) AS n FROM (
        SELECT tenant_id FROM {refs}
        UNION ALL
        SELECT c.tenant_id FROM {content} AS c
        WHERE NOT EXISTS (SELECT 1 FROM {refs} AS r WHERE r.storage_key = c.storage_key)
    ) AS rows
    GROUP BY tenant_id
),
migrated AS (
    SELECT tenant_id, count(*) AS n FROM email_messages
    WHERE source LIKE 'legacy:%%' GROUP BY tenant_id
)
SELECT coalesce(l.tenant_id, m.tenant_id) AS tenant_id,
       coalesce(l.n, 0) AS legacy, coalesce(m.n, 0) AS migrated
FROM legacy AS l FULL JOIN migrated AS m USING (tenant_id)
ORDER BY 1;
