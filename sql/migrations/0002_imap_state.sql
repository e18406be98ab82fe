-- IMAP import state: per account and folder, the UIDVALIDITY and the last UID whose
-- batch committed (updated in the same transaction as the batch), and which messages
-- sit in which folders (one message stored once, many memberships).

CREATE TABLE imap_folders (
    tenant_id        uuid        NOT NULL,
    email_account_id uuid        NOT NULL,
    folder           text        NOT NULL,
    uidvalidity      bigint      NOT NULL,
    last_uid         bigint      NOT NULL DEFAULT 0,
    highest_modseq   bigint,
    direction        text        NOT NULL,
    synced_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email_account_id, folder),
    FOREIGN KEY (tenant_id, email_account_id)
        REFERENCES email_accounts (tenant_id, email_account_id) ON DELETE CASCADE
);

CREATE TABLE imap_messages (
    tenant_id        uuid         NOT NULL,
    email_account_id uuid         NOT NULL,
    folder           text         NOT NULL,
    uidvalidity      bigint       NOT NULL,
    uid              bigint       NOT NULL,
    storage_key      varchar(500) NOT NULL,
    created          timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email_account_id, folder, uidvalidity, uid),
    FOREIGN KEY (tenant_id, email_account_id, folder)
        REFERENCES imap_folders (tenant_id, email_account_id, folder) ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, storage_key)
        REFERENCES email_messages (tenant_id, storage_key) ON DELETE CASCADE
);
CREATE INDEX idx_imap_messages_storage_key ON imap_messages (tenant_id, storage_key);

ALTER TABLE imap_folders ENABLE ROW LEVEL SECURITY;
ALTER TABLE imap_folders FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imap_folders
    USING (pmail_tenant_visible(tenant_id)) WITH CHECK (pmail_tenant_visible(tenant_id));
ALTER TABLE imap_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE imap_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON imap_messages
    USING (pmail_tenant_visible(tenant_id)) WITH CHECK (pmail_tenant_visible(tenant_id));
