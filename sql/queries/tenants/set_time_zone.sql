-- Set the time zone the tenant's days are counted in (rollups are rebuilt after).
-- params: tenant_id uuid, time_zone text
UPDATE tenants SET time_zone = %(time_zone)s WHERE tenant_id = %(tenant_id)s;
