-- pmail initial schema: the operational tables pmail keeps a minimal copy of, the
-- three-level content hierarchy, deduplicated attachment bytes and zstd dictionaries.
-- Every key between content tables includes tenant_id (see docs/scaling.md).

CREATE TABLE tenants (
    tenant_id  uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    name       text        NOT NULL UNIQUE CHECK (name <> ''),
    created    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE email_accounts (
    tenant_id        uuid        NOT NULL REFERENCES tenants (tenant_id),
    email_account_id uuid        NOT NULL DEFAULT gen_random_uuid(),
    email            text        NOT NULL,
    display_name     text,
    created          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, email_account_id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE campaigns (
    tenant_id   uuid        NOT NULL REFERENCES tenants (tenant_id),
    campaign_id uuid        NOT NULL DEFAULT gen_random_uuid(),
    name        text,
    created     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, campaign_id)
);

CREATE TABLE leads (
    tenant_id  uuid        NOT NULL REFERENCES tenants (tenant_id),
    lead_id    uuid        NOT NULL DEFAULT gen_random_uuid(),
    email      text,
    name       text,
    created    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, lead_id)
);

-- zstd dictionaries trained on a tenant's own mail; never deleted while a row uses one.
CREATE TABLE compression_dicts (
    tenant_id     uuid        NOT NULL REFERENCES tenants (tenant_id),
    dict_id       integer     NOT NULL CHECK (dict_id > 0),
    zstd_dict_id  bigint      NOT NULL,
    dict_data     bytea       NOT NULL,
    sample_count  integer     NOT NULL,
    sample_bytes  bigint      NOT NULL,
    created       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, dict_id)
);

CREATE TABLE email_messages (
    tenant_id         uuid        NOT NULL REFERENCES tenants (tenant_id),
    storage_key       varchar(500) NOT NULL,
    message_id        text,
    in_reply_to       text,
    references_ids    text[],     -- NULL when none (an empty array costs 16 bytes a row)
    parent_message_id text,
    parent_storage_key varchar(500),
    email_account_id  uuid,
    campaign_id       uuid,
    lead_id           uuid,
    direction         text        NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    message_type      text        NOT NULL DEFAULT 'email',
    status            text        NOT NULL,
    from_email        text,
    from_name         text,
    to_email          text,
    cc_email          text,
    subject           text,
    sent_at           timestamptz,
    attachment_count  integer     NOT NULL DEFAULT 0,
    parse_problems    text[],     -- NULL when nothing was wrong
    source            text,
    created           timestamptz NOT NULL DEFAULT now(),
    updated           timestamptz NOT NULL DEFAULT now(),
    processed         timestamptz,
    PRIMARY KEY (tenant_id, storage_key),
    FOREIGN KEY (tenant_id, email_account_id) REFERENCES email_accounts (tenant_id, email_account_id),
    FOREIGN KEY (tenant_id, campaign_id) REFERENCES campaigns (tenant_id, campaign_id),
    FOREIGN KEY (tenant_id, lead_id) REFERENCES leads (tenant_id, lead_id)
);

CREATE TABLE email_content (
    tenant_id             uuid        NOT NULL,
    storage_key           varchar(500) NOT NULL,
    -- the text body (or the text of an HTML-only body): the searchable cache. The HTML
    -- body and the header list are rebuilt from the raw message when asked for: storing
    -- them again would double the bytes per message (docs/performance.md).
    content_text          text,
    raw_size_bytes        bigint      NOT NULL CHECK (raw_size_bytes >= 0),
    compressed_size_bytes bigint      NOT NULL CHECK (compressed_size_bytes >= 0),
    raw_sha256            bytea       CHECK (octet_length(raw_sha256) = 32),
    raw_form              text        NOT NULL CHECK (raw_form IN ('whole', 'spliced', 'none')),
    raw_data              bytea,
    raw_splices           jsonb,
    compression           text        NOT NULL CHECK (compression IN ('none', 'zstd', 'zstd-dict')),
    dict_id               integer,
    created               timestamptz NOT NULL DEFAULT now(),
    expires               timestamptz,
    retention_days        integer,    -- NULL: the default of 2555 days
    legal_hold            boolean     NOT NULL DEFAULT false,
    PRIMARY KEY (tenant_id, storage_key),
    FOREIGN KEY (tenant_id, storage_key) REFERENCES email_messages (tenant_id, storage_key)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, dict_id) REFERENCES compression_dicts (tenant_id, dict_id),
    CHECK ((compression = 'zstd-dict') = (dict_id IS NOT NULL)),
    CHECK ((raw_form = 'none') = (raw_data IS NULL)),
    CHECK ((raw_form = 'spliced') = (raw_splices IS NOT NULL))
);

-- Each distinct attachment file, stored once per tenant, keyed by the sha256 of its bytes.
CREATE TABLE attachment_blobs (
    tenant_id             uuid        NOT NULL REFERENCES tenants (tenant_id),
    sha256                bytea       NOT NULL CHECK (octet_length(sha256) = 32),
    size_bytes            bigint      NOT NULL CHECK (size_bytes >= 0),
    compressed_size_bytes bigint      NOT NULL CHECK (compressed_size_bytes >= 0),
    compression           text        NOT NULL CHECK (compression IN ('none', 'zstd')),
    data                  bytea       NOT NULL,
    created               timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, sha256)
);
ALTER TABLE attachment_blobs ALTER COLUMN data SET STORAGE EXTERNAL;

CREATE TABLE attachments (
    tenant_id           uuid        NOT NULL,
    parent_storage_key  varchar(500) NOT NULL,
    part_index          integer     NOT NULL,
    filename            text,
    mime_type           text,
    size_bytes          bigint      NOT NULL,
    storage_disposition text,
    content_id          text,
    sha256              bytea       NOT NULL,
    created             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, parent_storage_key, part_index),
    FOREIGN KEY (tenant_id, parent_storage_key) REFERENCES email_content (tenant_id, storage_key)
        ON DELETE CASCADE,
    FOREIGN KEY (tenant_id, sha256) REFERENCES attachment_blobs (tenant_id, sha256)
);

-- The original design's indexes (its created_at index is on created).
CREATE INDEX idx_email_messages_created ON email_messages (tenant_id, created);
CREATE INDEX idx_email_messages_campaign ON email_messages (tenant_id, campaign_id)
    WHERE campaign_id IS NOT NULL;
CREATE INDEX idx_email_messages_lead ON email_messages (tenant_id, lead_id)
    WHERE lead_id IS NOT NULL;
CREATE INDEX idx_email_messages_account ON email_messages (tenant_id, email_account_id)
    WHERE email_account_id IS NOT NULL;
CREATE INDEX idx_email_messages_direction_status
    ON email_messages (tenant_id, direction, status);
-- Message-IDs can be huge: index a hash of them, look up by hash and value.
CREATE INDEX idx_email_messages_message_id
    ON email_messages (tenant_id, md5(message_id)) WHERE message_id IS NOT NULL;
CREATE INDEX idx_attachments_sha256 ON attachments (tenant_id, sha256);
CREATE INDEX idx_email_content_dict ON email_content (tenant_id, dict_id)
    WHERE dict_id IS NOT NULL;

-- Row-level security: a session sees the tenant named in pmail.tenant_id, or every
-- tenant when pmail.all_tenants is 'on' (validate and migrations across tenants).
CREATE FUNCTION pmail_tenant_visible(row_tenant uuid) RETURNS boolean
LANGUAGE sql STABLE AS $$
    SELECT coalesce(current_setting('pmail.all_tenants', true), '') = 'on'
        OR row_tenant = nullif(current_setting('pmail.tenant_id', true), '')::uuid
$$;

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['email_accounts', 'campaigns', 'leads', 'compression_dicts',
                             'email_messages', 'email_content', 'attachment_blobs',
                             'attachments']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (pmail_tenant_visible(tenant_id)) '
                       'WITH CHECK (pmail_tenant_visible(tenant_id))', t);
    END LOOP;
END
$$;

-- Tenant names are looked up before a tenant is chosen: everyone may read them, a
-- session may change only its own.
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_read ON tenants FOR SELECT USING (true);
CREATE POLICY tenant_insert ON tenants FOR INSERT WITH CHECK (true);
CREATE POLICY tenant_write ON tenants FOR UPDATE USING (pmail_tenant_visible(tenant_id));
CREATE POLICY tenant_delete ON tenants FOR DELETE USING (pmail_tenant_visible(tenant_id));
