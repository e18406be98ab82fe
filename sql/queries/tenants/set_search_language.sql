-- Set the text search configuration of a tenant's documents and queries.
-- params: tenant_id uuid, language text (a pg_catalog text search configuration)
UPDATE tenants SET search_language = %(language)s WHERE tenant_id = %(tenant_id)s;
