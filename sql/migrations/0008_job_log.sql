-- The queue's job log (the original design's jobs / job_logs): one row per job that
-- ended, written in the same transaction as the batch that stored its message (or
-- when it went to the dead letters). `pmail queue status` and `pmail report queue`
-- read it. A redelivered job that was already logged adds nothing.
CREATE TABLE job_log (
    tenant_id   uuid         NOT NULL REFERENCES tenants (tenant_id),
    job_id      uuid         NOT NULL,
    job_type    text         NOT NULL CHECK (job_type IN ('store', 'import-imap', 'analytics')),
    priority    text         NOT NULL CHECK (priority IN ('high', 'normal', 'bulk')),
    outcome     text         NOT NULL CHECK (outcome IN ('stored', 'duplicate', 'done', 'dead')),
    attempts    integer      NOT NULL CHECK (attempts > 0),
    storage_key varchar(500),
    source      text,
    error       text,
    enqueued    timestamptz  NOT NULL,
    started     timestamptz  NOT NULL,
    finished    timestamptz  NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, job_id)
);
CREATE INDEX idx_job_log_finished ON job_log (tenant_id, finished);

ALTER TABLE job_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE job_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON job_log
    USING (pmail_tenant_visible(tenant_id)) WITH CHECK (pmail_tenant_visible(tenant_id));

-- Tenant logins run workers for their tenant too.
SELECT pmail_grant_app_role();
