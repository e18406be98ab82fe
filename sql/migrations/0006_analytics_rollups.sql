-- Analytics: rollup tables that the reports read, kept current by statement-level
-- triggers in the same transaction as whatever changes the base rows (an ingest batch,
-- a late bounce moving its parent's status, a late link, a migration, a purge), so a
-- report at millions of messages reads thousands of rows. `pmail analytics rebuild`
-- recomputes them (docs/reports.md).

-- Days are counted in the tenant's time zone.
ALTER TABLE tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'UTC'
    CHECK ((now() AT TIME ZONE time_zone) IS NOT NULL);  -- an unknown zone is refused

-- What a message row needs for analytics on its own: its size, and for a bounce how
-- hard it was and why (the deciding recipient: the first hard one, else the first).
ALTER TABLE email_messages
    ADD COLUMN raw_size_bytes bigint,
    ADD COLUMN bounce_class   text CHECK (bounce_class IN ('hard', 'soft')),
    ADD COLUMN bounce_reason  text;

UPDATE email_messages AS m
SET raw_size_bytes = c.raw_size_bytes
FROM email_content AS c
WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key;

UPDATE email_messages AS m
SET bounce_class = CASE WHEN f.any_hard THEN 'hard' ELSE 'soft' END,
    bounce_reason = f.reason
FROM (
    SELECT tenant_id, storage_key, bool_or(hard) AS any_hard,
           (array_agg(reason ORDER BY hard DESC, recipient_index))[1] AS reason
    FROM delivery_facts
    GROUP BY tenant_id, storage_key
) AS f
WHERE f.tenant_id = m.tenant_id AND f.storage_key = m.storage_key
  AND m.message_type = 'bounce';

-- Inbound mail inherits the account of the message it answers, like its campaign and
-- lead: a bounce belongs to the mailbox that sent the original.
UPDATE email_messages AS c
SET email_account_id = p.email_account_id
FROM email_messages AS p
WHERE c.email_account_id IS NULL AND c.parent_storage_key IS NOT NULL
  AND p.tenant_id = c.tenant_id AND p.storage_key = c.parent_storage_key
  AND p.email_account_id IS NOT NULL;

CREATE TABLE message_rollups (
    tenant_id        uuid    NOT NULL,
    day              date    NOT NULL,
    campaign_id      uuid,
    email_account_id uuid,
    direction        text    NOT NULL,
    message_type     text    NOT NULL,
    status           text    NOT NULL,
    bounce_class     text,
    bounce_reason    text,
    messages         bigint  NOT NULL DEFAULT 0,
    raw_bytes        bigint  NOT NULL DEFAULT 0,
    attachments      bigint  NOT NULL DEFAULT 0,
    replies          bigint  NOT NULL DEFAULT 0,
    CONSTRAINT message_rollups_key UNIQUE NULLS NOT DISTINCT
        (tenant_id, day, campaign_id, email_account_id, direction, message_type, status,
         bounce_class, bounce_reason)
);

CREATE TABLE storage_rollups (
    tenant_id          uuid   NOT NULL,
    day                date   NOT NULL,
    messages           bigint NOT NULL DEFAULT 0,  -- content rows
    raw_bytes          bigint NOT NULL DEFAULT 0,  -- the messages as they arrived
    stored_bytes       bigint NOT NULL DEFAULT 0,  -- their compressed raw forms
    attachment_refs    bigint NOT NULL DEFAULT 0,  -- attachment parts
    attachment_bytes   bigint NOT NULL DEFAULT 0,  -- their decoded sizes
    blobs              bigint NOT NULL DEFAULT 0,  -- distinct files first stored that day
    blob_bytes         bigint NOT NULL DEFAULT 0,  -- their decoded sizes
    blob_stored_bytes  bigint NOT NULL DEFAULT 0,  -- what they take, compressed
    PRIMARY KEY (tenant_id, day)
);

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['message_rollups', 'storage_rollups']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (pmail_tenant_visible(tenant_id)) '
                       'WITH CHECK (pmail_tenant_visible(tenant_id))', t);
    END LOOP;
END
$$;

-- The day a timestamp falls on in the tenant's time zone.
CREATE FUNCTION pmail_tenant_day(tenant uuid, at timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (at AT TIME ZONE (SELECT time_zone FROM tenants WHERE tenant_id = tenant))::date
$$;

-- Which rows a statement-level trigger's change consists of: the rows that left
-- (sign -1) and the rows that arrived (sign +1), from its transition tables.
CREATE FUNCTION pmail_changed_rows(op text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE op
        WHEN 'INSERT' THEN 'SELECT n.*, 1 AS sign FROM pmail_new_rows AS n'
        WHEN 'DELETE' THEN 'SELECT o.*, -1 AS sign FROM pmail_old_rows AS o'
        ELSE 'SELECT o.*, -1 AS sign FROM pmail_old_rows AS o '
             'UNION ALL SELECT n.*, 1 AS sign FROM pmail_new_rows AS n'
    END
$$;

-- email_messages -> message_rollups: each group's delta; groups whose delta is zero
-- (an update that moved nothing) are not touched.
CREATE FUNCTION pmail_rollup_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format($q$
        INSERT INTO message_rollups AS r (tenant_id, day, campaign_id, email_account_id,
            direction, message_type, status, bounce_class, bounce_reason,
            messages, raw_bytes, attachments, replies)
        SELECT d.tenant_id, pmail_tenant_day(d.tenant_id, d.created), d.campaign_id,
               d.email_account_id, d.direction, d.message_type, d.status,
               d.bounce_class, d.bounce_reason, sum(d.sign),
               sum(d.sign * coalesce(d.raw_size_bytes, 0)),
               sum(d.sign * d.attachment_count), sum(d.sign * d.is_reply::int)
        FROM (%s) AS d
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        HAVING sum(d.sign) <> 0 OR sum(d.sign * coalesce(d.raw_size_bytes, 0)) <> 0
            OR sum(d.sign * d.attachment_count) <> 0 OR sum(d.sign * d.is_reply::int) <> 0
        ON CONFLICT ON CONSTRAINT message_rollups_key DO UPDATE
        SET messages = r.messages + excluded.messages,
            raw_bytes = r.raw_bytes + excluded.raw_bytes,
            attachments = r.attachments + excluded.attachments,
            replies = r.replies + excluded.replies
    $q$, pmail_changed_rows(TG_OP));
    RETURN NULL;
END
$$;

-- email_content, attachments, attachment_blobs -> storage_rollups.
CREATE FUNCTION pmail_rollup_storage() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    measures text := CASE TG_TABLE_NAME
        WHEN 'email_content' THEN
            'sum(d.sign), sum(d.sign * d.raw_size_bytes), '
            'sum(d.sign * d.compressed_size_bytes), 0, 0, 0, 0, 0'
        WHEN 'attachments' THEN '0, 0, 0, sum(d.sign), sum(d.sign * d.size_bytes), 0, 0, 0'
        ELSE '0, 0, 0, 0, 0, sum(d.sign), sum(d.sign * d.size_bytes), '
             'sum(d.sign * d.compressed_size_bytes)'
    END;
BEGIN
    EXECUTE format($q$
        INSERT INTO storage_rollups AS r (tenant_id, day, messages, raw_bytes,
            stored_bytes, attachment_refs, attachment_bytes, blobs, blob_bytes,
            blob_stored_bytes)
        SELECT d.tenant_id, pmail_tenant_day(d.tenant_id, d.created), %s
        FROM (%s) AS d
        GROUP BY 1, 2
        ON CONFLICT (tenant_id, day) DO UPDATE
        SET messages = r.messages + excluded.messages,
            raw_bytes = r.raw_bytes + excluded.raw_bytes,
            stored_bytes = r.stored_bytes + excluded.stored_bytes,
            attachment_refs = r.attachment_refs + excluded.attachment_refs,
            attachment_bytes = r.attachment_bytes + excluded.attachment_bytes,
            blobs = r.blobs + excluded.blobs,
            blob_bytes = r.blob_bytes + excluded.blob_bytes,
            blob_stored_bytes = r.blob_stored_bytes + excluded.blob_stored_bytes
    $q$, measures, pmail_changed_rows(TG_OP));
    RETURN NULL;
END
$$;

-- A transition table belongs to one event, so each event has its trigger (and an
-- UPDATE trigger with transition tables cannot name columns: every update of these
-- tables is looked at; one that moves no group changes nothing).
DO $$
DECLARE
    t record;
BEGIN
    FOR t IN SELECT * FROM (VALUES
        ('email_messages', 'pmail_rollup_messages'),
        ('email_content', 'pmail_rollup_storage'),
        ('attachments', 'pmail_rollup_storage'),
        ('attachment_blobs', 'pmail_rollup_storage')
    ) AS v (tbl, fn)
    LOOP
        EXECUTE format('CREATE TRIGGER pmail_rollup_insert AFTER INSERT ON %I '
                       'REFERENCING NEW TABLE AS pmail_new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tbl, t.fn);
        EXECUTE format('CREATE TRIGGER pmail_rollup_delete AFTER DELETE ON %I '
                       'REFERENCING OLD TABLE AS pmail_old_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tbl, t.fn);
        EXECUTE format('CREATE TRIGGER pmail_rollup_update AFTER UPDATE ON %I '
                       'REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows '
                       'FOR EACH STATEMENT EXECUTE FUNCTION %I()', t.tbl, t.fn);
    END LOOP;
END
$$;

-- What the rollups should hold, counted from the base tables: `analytics rebuild`
-- writes it, `validate` compares it. security_invoker: a tenant session counts its
-- own rows only.
CREATE VIEW message_rollups_expected WITH (security_invoker = true) AS
SELECT tenant_id, pmail_tenant_day(tenant_id, created) AS day, campaign_id,
       email_account_id, direction, message_type, status, bounce_class, bounce_reason,
       count(*) AS messages, sum(coalesce(raw_size_bytes, 0)) AS raw_bytes,
       sum(attachment_count) AS attachments, sum(is_reply::int) AS replies
FROM email_messages
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;

CREATE VIEW storage_rollups_expected WITH (security_invoker = true) AS
SELECT tenant_id, day, sum(messages) AS messages, sum(raw_bytes) AS raw_bytes,
       sum(stored_bytes) AS stored_bytes, sum(attachment_refs) AS attachment_refs,
       sum(attachment_bytes) AS attachment_bytes, sum(blobs) AS blobs,
       sum(blob_bytes) AS blob_bytes, sum(blob_stored_bytes) AS blob_stored_bytes
FROM (
    SELECT tenant_id, pmail_tenant_day(tenant_id, created) AS day, 1 AS messages,
           raw_size_bytes AS raw_bytes, compressed_size_bytes AS stored_bytes,
           0 AS attachment_refs, 0 AS attachment_bytes, 0 AS blobs, 0 AS blob_bytes,
           0 AS blob_stored_bytes
    FROM email_content
    UNION ALL
    SELECT tenant_id, pmail_tenant_day(tenant_id, created), 0, 0, 0, 1, size_bytes, 0, 0, 0
    FROM attachments
    UNION ALL
    SELECT tenant_id, pmail_tenant_day(tenant_id, created), 0, 0, 0, 0, 0, 1, size_bytes,
           compressed_size_bytes
    FROM attachment_blobs
) AS parts
GROUP BY 1, 2;

-- Fill the rollups from what is stored already (`pmail analytics rebuild` does the
-- same at any time).
INSERT INTO message_rollups (tenant_id, day, campaign_id, email_account_id, direction,
    message_type, status, bounce_class, bounce_reason, messages, raw_bytes, attachments,
    replies)
SELECT tenant_id, day, campaign_id, email_account_id, direction, message_type, status,
       bounce_class, bounce_reason, messages, raw_bytes, attachments, replies
FROM message_rollups_expected;

INSERT INTO storage_rollups (tenant_id, day, messages, raw_bytes, stored_bytes,
    attachment_refs, attachment_bytes, blobs, blob_bytes, blob_stored_bytes)
SELECT tenant_id, day, messages, raw_bytes, stored_bytes, attachment_refs,
       attachment_bytes, blobs, blob_bytes, blob_stored_bytes
FROM storage_rollups_expected;
