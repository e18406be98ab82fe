-- Turn a tenant's full-text index on or off (sync_search_documents then builds or
-- drops its documents).
-- params: tenant_id uuid, on bool
UPDATE tenants SET search_index = %(on)s WHERE tenant_id = %(tenant_id)s;
