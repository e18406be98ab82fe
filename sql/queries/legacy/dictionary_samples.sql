-- Up to `per_tenant` legacy content rows of each of these tenants, the latest keys
-- first: what a tenant's first dictionary is trained on.
-- params: tenant_ids uuid[], per_tenant int
SELECT c.tenant_id, c.content_text, c.content_html, c.headers::text AS headers
FROM (SELECT storage_key
      FROM (SELECT storage_key,
                   row_number() OVER (PARTITION BY tenant_id ORDER BY storage_key DESC) AS n
            FROM {content}
            WHERE tenant_id = ANY(%(tenant_ids)s)) AS ranked
      WHERE n <= %(per_tenant)s) AS picked
JOIN {content} AS c USING (storage_key);
