-- The staged content rows of tenants with the SQL columns off lose them (workers
-- leave them out already; this holds when the setting changed while the batch was
-- prepared: the tenant's row is read in the batch's own transaction).
-- params: none
UPDATE pmail_stage_content AS s SET content_html = NULL, headers = NULL
FROM tenants AS t
WHERE t.tenant_id = s.tenant_id AND NOT t.sql_bodies
  AND (s.content_html IS NOT NULL OR s.headers IS NOT NULL);
