-- Audit entries, oldest first: of one tenant, or of every tenant (acts across every
-- tenant included); since a time; of one action (or every action starting with it).
-- params: tenant_id uuid (NULL: every tenant), since timestamptz, action text, limit int
SELECT a.audit_id, a.at, a.db_role, a.acting_as, a.os_user, t.name AS tenant,
       a.action, a.params, a.result
FROM admin_audit_log AS a
LEFT JOIN tenants AS t ON t.tenant_id = a.tenant_id
WHERE (%(tenant_id)s::uuid IS NULL OR a.tenant_id = %(tenant_id)s::uuid)
  AND (%(since)s::timestamptz IS NULL OR a.at >= %(since)s::timestamptz)
  AND (%(action)s::text IS NULL OR a.action = %(action)s::text
       OR a.action LIKE %(action)s::text || ' %%')
ORDER BY a.audit_id
LIMIT %(limit)s;
