-- Bring a tenant's stored mail in line with its sql_bodies setting, from its first
-- message (a backfill already running for it starts over: the walk only changes what
-- disagrees with the setting).
-- params: tenant_id uuid
INSERT INTO pmail_backfills (name, after_tenant, after_key)
VALUES ('sql_bodies:' || %(tenant_id)s::text, %(tenant_id)s, '')
ON CONFLICT (name) DO UPDATE SET after_key = '';
