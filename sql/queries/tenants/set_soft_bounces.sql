-- Set how many soft bounces within how many days suppress an address (the tenant's
-- suppressions are recomputed by the pmail_suppress_limits trigger).
-- params: tenant_id uuid, soft_bounce_limit integer, soft_bounce_days integer
UPDATE tenants
SET soft_bounce_limit = %(soft_bounce_limit)s, soft_bounce_days = %(soft_bounce_days)s
WHERE tenant_id = %(tenant_id)s;
