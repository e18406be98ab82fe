-- Turn a tenant's SQL columns (content_html, headers) on or off.
-- params: tenant_id uuid, on bool
UPDATE tenants SET sql_bodies = %(on)s WHERE tenant_id = %(tenant_id)s;
