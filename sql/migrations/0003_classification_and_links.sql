-- Inbound classification (message_type, reply flag, complaint type, out-of-office date),
-- per-recipient delivery facts of DSNs, and what links a message to its parent.

ALTER TABLE email_messages
    ADD COLUMN is_reply            boolean NOT NULL DEFAULT false,
    ADD COLUMN original_message_id text,
    ADD COLUMN feedback_type       text,
    ADD COLUMN auto_reply_until    date,
    -- md5 of the Message-IDs this message may answer, best candidate first
    ADD COLUMN link_keys           text[];  -- NULL when it answers nothing

ALTER TABLE email_messages ADD CONSTRAINT email_messages_message_type_check
    CHECK (message_type IN ('email', 'bounce', 'delay', 'auto_reply', 'complaint',
                            'delivery_report', 'read_receipt'));

-- Children still waiting for their parent: found when the parent arrives.
CREATE INDEX idx_email_messages_unlinked ON email_messages USING gin (link_keys)
    WHERE parent_storage_key IS NULL AND link_keys IS NOT NULL;
CREATE INDEX idx_email_messages_parent_key ON email_messages (tenant_id, parent_storage_key)
    WHERE parent_storage_key IS NOT NULL;

CREATE TABLE delivery_facts (
    tenant_id       uuid         NOT NULL,
    storage_key     varchar(500) NOT NULL,
    recipient_index integer      NOT NULL,
    recipient       text,
    action          text,
    status          text,
    reply_code      integer,
    diagnostic_code text,
    remote_mta      text,
    reason          text         NOT NULL,
    hard            boolean      NOT NULL,
    PRIMARY KEY (tenant_id, storage_key, recipient_index),
    FOREIGN KEY (tenant_id, storage_key) REFERENCES email_messages (tenant_id, storage_key)
        ON DELETE CASCADE
);
CREATE INDEX idx_delivery_facts_recipient ON delivery_facts (tenant_id, lower(recipient));

ALTER TABLE delivery_facts ENABLE ROW LEVEL SECURITY;
ALTER TABLE delivery_facts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON delivery_facts
    USING (pmail_tenant_visible(tenant_id)) WITH CHECK (pmail_tenant_visible(tenant_id));

-- How far an outbound message has got; a status only ever moves up this ladder, so a
-- later auto-reply never overwrites 'replied'.
CREATE FUNCTION pmail_status_rank(status text) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status
        WHEN 'auto_replied' THEN 1
        WHEN 'replied' THEN 2
        WHEN 'bounced' THEN 3
        WHEN 'complained' THEN 4
        ELSE 0
    END
$$;
