-- IMAP messages refused for their size (over max_message_bytes), remembered so the
-- folder's checkpoint can move past them: each run retries them by UID (first their
-- announced size, then the bytes once the limit allows) and reports those still over
-- it, instead of fetching every later message again. Written in the same transaction
-- as the batch whose checkpoint passes the UID.

CREATE TABLE imap_refused (
    tenant_id        uuid        NOT NULL,
    email_account_id uuid        NOT NULL,
    folder           text        NOT NULL,
    uidvalidity      bigint      NOT NULL,
    uid              bigint      NOT NULL,
    size_bytes       bigint      NOT NULL,  -- as last announced or read
    max_bytes        bigint      NOT NULL,  -- the limit that refused it
    first_seen       timestamptz NOT NULL DEFAULT now(),
    last_seen        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email_account_id, folder, uidvalidity, uid),
    FOREIGN KEY (tenant_id, email_account_id, folder)
        REFERENCES imap_folders (tenant_id, email_account_id, folder) ON DELETE CASCADE
);

ALTER TABLE imap_refused ENABLE ROW LEVEL SECURITY;
ALTER TABLE imap_refused FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imap_refused
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())))
    WITH CHECK (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));

SELECT pmail_grant_app_role();
