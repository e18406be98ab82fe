-- Set how many days the tenant keeps mail by default (NULL: 2555).
-- params: tenant_id uuid, retention_days integer
UPDATE tenants SET retention_days = %(retention_days)s WHERE tenant_id = %(tenant_id)s;
