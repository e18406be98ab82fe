-- Create a tenant unless one of that name exists; returns it either way.
-- params: name text
WITH ins AS (
    INSERT INTO tenants (name) VALUES (%(name)s)
    ON CONFLICT (pmail_unmatchable(name)) DO NOTHING
    RETURNING tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies
)
SELECT tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies FROM ins
UNION ALL
SELECT tenant_id, name, created, time_zone, retention_days, search_index, sql_bodies FROM tenants WHERE name = %(name)s
LIMIT 1;
