-- Append one entry to the audit log (when and the database role are stamped by the
-- table's trigger).
-- params: os_user text, tenant_id uuid (NULL: every tenant), action text, params jsonb, result jsonb
INSERT INTO admin_audit_log (os_user, tenant_id, action, params, result)
VALUES (%(os_user)s, %(tenant_id)s, %(action)s, %(params)s, %(result)s)
RETURNING audit_id;
