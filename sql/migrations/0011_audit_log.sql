-- The administrators' audit log (the seed's admin_audit_log): every act that changes
-- what is kept or who may see it, appended in the same transaction as the act. No
-- role changes or removes an entry (UPDATE, DELETE and TRUNCATE are refused for
-- everyone, the owner too); a tenant sees its own tenant's entries, entries of acts
-- across tenants (tenant_id NULL) only a trusted session working across tenants.

CREATE TABLE admin_audit_log (
    audit_id  bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at        timestamptz NOT NULL DEFAULT now(),
    db_role   text        NOT NULL DEFAULT session_user,  -- the login
    acting_as text        NOT NULL DEFAULT current_user,  -- after SET ROLE
    os_user   text,  -- as the client says (pmail: the user running it)
    tenant_id uuid        REFERENCES tenants (tenant_id),  -- NULL: every tenant
    action    text        NOT NULL CHECK (action ~ '^[a-z][a-z-]*( [a-z][a-z-]*)*$'),
    params    jsonb       NOT NULL DEFAULT '{}',
    result    jsonb       NOT NULL DEFAULT '{}'
);
CREATE INDEX idx_admin_audit_log_tenant ON admin_audit_log (tenant_id, at);
CREATE INDEX idx_admin_audit_log_at ON admin_audit_log (at);

-- When and who are the database's word, not the writer's.
CREATE FUNCTION pmail_audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.at := now();
    NEW.db_role := session_user;
    NEW.acting_as := current_user;
    RETURN NEW;
END
$$;
CREATE TRIGGER pmail_audit_stamp BEFORE INSERT ON admin_audit_log
    FOR EACH ROW EXECUTE FUNCTION pmail_audit_stamp();

CREATE FUNCTION pmail_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only' USING ERRCODE = 'P0H03',
        HINT = 'entries are never changed or removed';
END
$$;
CREATE TRIGGER pmail_audit_append_only BEFORE UPDATE OR DELETE ON admin_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_audit_append_only();
CREATE TRIGGER pmail_audit_no_truncate BEFORE TRUNCATE ON admin_audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_audit_append_only();

ALTER TABLE admin_audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE admin_audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON admin_audit_log
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())))
    WITH CHECK (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));

SELECT pmail_grant_app_role();
SELECT pmail_pin_search_paths();
