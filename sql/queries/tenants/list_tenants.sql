-- Every tenant with its message count (counted under row-level security per tenant).
-- params: none
SELECT t.name,
       t.tenant_id,
       t.created,
       (SELECT count(*) FROM email_messages m WHERE m.tenant_id = t.tenant_id) AS messages
FROM tenants AS t
ORDER BY t.name;
