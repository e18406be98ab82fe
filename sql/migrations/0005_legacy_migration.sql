-- pmail migrate-legacy: what the migration from the old content tables needs.
--
-- A legacy message has no raw message. Its legacy columns (headers JSON, text, HTML)
-- are kept exactly, compressed in raw_data, under raw_form 'legacy'; export rebuilds
-- a standard message from them (docs/migrate-legacy.md).
ALTER TABLE email_content DROP CONSTRAINT email_content_raw_form_check;
ALTER TABLE email_content ADD CONSTRAINT email_content_raw_form_check
    CHECK (raw_form IN ('whole', 'spliced', 'legacy', 'none'));
ALTER TABLE email_content ADD CONSTRAINT email_content_legacy_has_no_sha256
    CHECK (raw_form <> 'legacy' OR raw_sha256 IS NULL);

-- Where each step of a migration stands: the last legacy key whose batch committed
-- (written in the same transaction as the batch).
CREATE TABLE legacy_migration_steps (
    step       text        PRIMARY KEY,
    last_key   text,
    rows_done  bigint      NOT NULL DEFAULT 0,
    started    timestamptz NOT NULL DEFAULT now(),
    updated    timestamptz NOT NULL DEFAULT now(),
    finished   timestamptz
);

-- Tables the migration renamed (moved aside or archived), so the undo is known.
CREATE TABLE legacy_migration_renames (
    schema_name text        NOT NULL,
    from_name   text        NOT NULL,
    to_name     text        NOT NULL,
    reason      text        NOT NULL,
    renamed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, from_name, to_name)
);

-- Everything dirty the migration found and what it did about it; one row per kind and
-- legacy row, so a rerun adds nothing. An attachment that belongs to no migrated
-- message keeps its bytes here (data, zstd), so nothing is lost.
CREATE TABLE migration_anomalies (
    anomaly_id   bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text        NOT NULL,
    legacy_table text        NOT NULL,
    legacy_key   text        NOT NULL,
    tenant_id    uuid,
    detail       text,
    sha256       bytea,
    data         bytea,
    created      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (kind, legacy_table, legacy_key)
);
CREATE INDEX idx_migration_anomalies_tenant ON migration_anomalies (tenant_id, kind);

-- A tenant's session sees its own anomalies; those of no known tenant only a session
-- that sees every tenant.
ALTER TABLE migration_anomalies ENABLE ROW LEVEL SECURITY;
ALTER TABLE migration_anomalies FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON migration_anomalies
    USING (pmail_tenant_visible(tenant_id)) WITH CHECK (pmail_tenant_visible(tenant_id));
