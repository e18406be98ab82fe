-- A tenant by name.
-- params: name text
SELECT tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies,
       soft_bounce_limit, soft_bounce_days, search_language
FROM tenants WHERE name = %(name)s;
