-- Tenants whose name holds control or format characters (stored before the CHECK
-- tenants_name_plain existed; it is NOT VALID so they stay until renamed).
-- params: tenant_id uuid (NULL: every tenant)
SELECT t.tenant_id,
       'tenant ' || t.tenant_id || ': pmail tenant set ' || t.tenant_id
           || ' --rename NEW-NAME' AS item
FROM tenants AS t
WHERE (%(tenant_id)s::uuid IS NULL OR t.tenant_id = %(tenant_id)s::uuid)
  AND NOT pmail_plain_name(t.name)
