-- Suppressions: per tenant, the addresses a sender must not mail again, with the
-- evidence (docs/classification.md, "Suppressions"). Like the rollups, the table is
-- kept current by statement-level triggers in the transaction that changes what it
-- is computed from (an ingest batch, a late link, a deletion, a tenant's limits), and
-- `pmail analytics rebuild` recomputes it from suppressions_expected; `validate`
-- compares the two.

-- How many soft bounces, within how many days, suppress an address.
ALTER TABLE tenants
    ADD COLUMN soft_bounce_limit integer NOT NULL DEFAULT 5
        CHECK (soft_bounce_limit BETWEEN 1 AND 1000),
    ADD COLUMN soft_bounce_days integer NOT NULL DEFAULT 30
        CHECK (soft_bounce_days BETWEEN 1 AND 36600);

-- Why an inbound email asks to be unsubscribed (classify/unsubscribe.py): 'mailbox',
-- 'subject' or 'body: <phrase>'; NULL when it does not.
ALTER TABLE email_messages ADD COLUMN unsubscribe text;

-- The address of a From field (the first, when it holds several), NULL when none.
CREATE FUNCTION pmail_sender_address(from_email text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN CASE WHEN btrim(split_part(from_email, ',', 1)) LIKE '%_@_%'
            THEN lower(btrim(split_part(from_email, ',', 1))) END;

-- Whether a soft failure's reason says something about the recipient's mailbox (it
-- counts toward a soft suppression) rather than about the sender, its content or
-- its route (blocked, authfailure, spamdetected, rejected, ...: those never do).
CREATE FUNCTION pmail_recipient_side(reason text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
RETURN reason IN ('mailboxfull', 'suspend', 'filtered', 'expired', 'networkerror',
                  'systemerror', 'systemfull', 'notaccept', 'hostunknown',
                  'userunknown', 'hasmoved', 'exceedlimit', 'mailererror', 'onhold',
                  'undefined');

-- Replies that name no recipient yet are found by their sender.
CREATE INDEX idx_email_messages_sender
    ON email_messages (tenant_id, pmail_sender_address(from_email))
    WHERE direction = 'inbound' AND message_type = 'email';

-- Every piece of evidence, one row each: a failed recipient of a bounce (hard or
-- soft), a complained-about recipient of a complaint (an opt-out report counts as an
-- unsubscribe; not-spam and auth-failure reports count as nothing), and each
-- ordinary inbound email by its sender (an unsubscribe request, or a normal reply
-- that clears soft bounces before it). `at` is when it happened: the Date it
-- carries, else its arrival.
CREATE VIEW suppression_evidence WITH (security_invoker = true) AS
SELECT f.tenant_id, lower(f.recipient) AS address,
       CASE WHEN m.message_type = 'complaint' THEN
                CASE WHEN m.feedback_type IN ('opt-out', 'unsubscribe') THEN 'unsubscribe'
                     ELSE 'complaint' END
            WHEN f.hard THEN 'hard_bounce'
            ELSE 'soft_bounce' END AS kind,
       CASE WHEN m.message_type = 'complaint' THEN coalesce(m.feedback_type, 'abuse')
            ELSE f.reason END AS detail,
       m.storage_key, coalesce(m.sent_at, m.created) AS at, m.campaign_id, m.lead_id
FROM delivery_facts AS f
JOIN email_messages AS m ON m.tenant_id = f.tenant_id AND m.storage_key = f.storage_key
WHERE m.direction = 'inbound' AND f.recipient LIKE '%_@_%'
  AND ((m.message_type = 'bounce'
        AND coalesce(f.action, 'failed') NOT IN ('delayed', 'delivered', 'relayed',
                                                 'expanded')
        AND (f.hard OR pmail_recipient_side(f.reason)))
       OR (m.message_type = 'complaint'
           AND coalesce(m.feedback_type, 'abuse') NOT IN ('not-spam', 'auth-failure')))
UNION ALL
SELECT m.tenant_id, pmail_sender_address(m.from_email),
       CASE WHEN m.unsubscribe IS NULL THEN 'reply' ELSE 'unsubscribe' END,
       m.unsubscribe, m.storage_key, coalesce(m.sent_at, m.created), m.campaign_id,
       m.lead_id
FROM email_messages AS m
WHERE m.direction = 'inbound' AND m.message_type = 'email'
  AND pmail_sender_address(m.from_email) IS NOT NULL;

-- What the suppressions should be, from the evidence: one row per address and
-- reason. Hard bounces, complaints and unsubscribes suppress at once and for good;
-- soft bounces after the address's last normal reply suppress once
-- tenants.soft_bounce_limit of them fall within tenants.soft_bounce_days days.
-- A filter on tenant_id and address reaches the evidence's indexes (every window is
-- partitioned by them), which is how the triggers refresh a few addresses.
CREATE VIEW suppressions_expected WITH (security_invoker = true) AS
SELECT l.tenant_id, l.address, l.reason,
       (array_agg(l.detail ORDER BY l.at DESC, l.storage_key DESC))[1] AS detail,
       count(*) AS evidence,
       (array_agg(l.storage_key ORDER BY l.at, l.storage_key))[1] AS first_key,
       min(l.at) AS first_at,
       (array_agg(l.storage_key ORDER BY l.at DESC, l.storage_key DESC))[1] AS last_key,
       max(l.at) AS last_at,
       (array_agg(l.campaign_id ORDER BY l.at DESC, l.storage_key DESC)
            FILTER (WHERE l.campaign_id IS NOT NULL))[1] AS campaign_id,
       (array_agg(l.lead_id ORDER BY l.at DESC, l.storage_key DESC)
            FILTER (WHERE l.lead_id IS NOT NULL))[1] AS lead_id
FROM (
    SELECT v.tenant_id, v.address, v.kind AS reason, v.detail, v.storage_key, v.at,
           v.campaign_id, v.lead_id,
           v.at - lag(v.at, t.soft_bounce_limit - 1) OVER (
               PARTITION BY v.tenant_id, v.address, v.kind ORDER BY v.at, v.storage_key)
               <= make_interval(days => t.soft_bounce_days) AS repeated
    FROM (
        SELECT e.*, max(e.at) FILTER (WHERE e.kind = 'reply')
                        OVER (PARTITION BY e.tenant_id, e.address) AS replied
        FROM suppression_evidence AS e
    ) AS v
    JOIN tenants AS t ON t.tenant_id = v.tenant_id
    WHERE v.kind <> 'reply'
      AND (v.kind <> 'soft_bounce' OR v.replied IS NULL OR v.at > v.replied)
) AS l
GROUP BY l.tenant_id, l.address, l.reason
HAVING l.reason <> 'soft_bounce' OR coalesce(bool_or(l.repeated), false);

CREATE TABLE suppressions (
    tenant_id   uuid         NOT NULL REFERENCES tenants (tenant_id),
    address     text         NOT NULL,
    reason      text         NOT NULL
                CHECK (reason IN ('hard_bounce', 'complaint', 'unsubscribe', 'soft_bounce')),
    detail      text,         -- bounce reason, feedback type, or the unsubscribe rule
    evidence    bigint       NOT NULL,  -- messages counted
    first_key   varchar(500) NOT NULL,  -- storage key of the first evidence
    first_at    timestamptz  NOT NULL,
    last_key    varchar(500) NOT NULL,  -- storage key of the latest evidence
    last_at     timestamptz  NOT NULL,
    campaign_id uuid,                   -- of the latest evidence linked to one
    lead_id     uuid,
    PRIMARY KEY (tenant_id, address, reason)
);
CREATE INDEX idx_suppressions_last_at ON suppressions (tenant_id, last_at);

ALTER TABLE suppressions ENABLE ROW LEVEL SECURITY;
ALTER TABLE suppressions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON suppressions
    USING (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())))
    WITH CHECK (pmail_in_scope(tenant_id, (SELECT pmail_session_scope())));

-- Recompute the suppressions of some addresses of one tenant (all of them: NULL).
-- EXECUTE plans with the values, so the filter reaches the indexes.
CREATE FUNCTION pmail_refresh_suppressions(tenant uuid, addresses text[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    which text := CASE WHEN addresses IS NULL THEN 'tenant_id = $1'
                       ELSE 'tenant_id = $1 AND address = ANY ($2)' END;
BEGIN
    EXECUTE 'DELETE FROM suppressions WHERE ' || which USING tenant, addresses;
    EXECUTE 'INSERT INTO suppressions (tenant_id, address, reason, detail, evidence, '
            'first_key, first_at, last_key, last_at, campaign_id, lead_id) '
            'SELECT tenant_id, address, reason, detail, evidence, first_key, first_at, '
            'last_key, last_at, campaign_id, lead_id FROM suppressions_expected WHERE '
            || which USING tenant, addresses;
END
$$;

-- delivery_facts -> suppressions: the recipients whose facts came, went or changed.
CREATE FUNCTION pmail_suppress_facts() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
BEGIN
    FOR t IN EXECUTE format(
        'SELECT d.tenant_id, array_agg(DISTINCT lower(d.recipient)) AS addresses '
        'FROM (%s) AS d WHERE d.recipient LIKE ''%%_@_%%'' GROUP BY d.tenant_id',
        pmail_changed_rows(TG_OP))
    LOOP
        PERFORM pmail_refresh_suppressions(t.tenant_id, t.addresses);
    END LOOP;
    RETURN NULL;
END
$$;

-- email_messages -> suppressions: the senders of ordinary inbound mail that came or
-- went; on an update, the senders and recipients of the rows whose evidence changed
-- (a late link gives a campaign; an update that moves only a status changes nothing).
CREATE FUNCTION pmail_suppress_messages() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    t record;
    changed text := CASE TG_OP
        WHEN 'UPDATE' THEN
            'SELECT n.* FROM pmail_new_rows AS n JOIN pmail_old_rows AS o '
            'ON o.tenant_id = n.tenant_id AND o.storage_key = n.storage_key '
            'WHERE n.direction = ''inbound'' AND (o.campaign_id, o.lead_id, '
            'o.message_type, o.from_email, o.sent_at, o.created, o.unsubscribe, '
            'o.feedback_type) IS DISTINCT FROM (n.campaign_id, n.lead_id, '
            'n.message_type, n.from_email, n.sent_at, n.created, n.unsubscribe, '
            'n.feedback_type) '
            'UNION ALL SELECT o.* FROM pmail_old_rows AS o JOIN pmail_new_rows AS n '
            'ON o.tenant_id = n.tenant_id AND o.storage_key = n.storage_key '
            'WHERE o.direction = ''inbound'' AND (o.message_type, o.from_email) '
            'IS DISTINCT FROM (n.message_type, n.from_email)'
        WHEN 'INSERT' THEN 'SELECT * FROM pmail_new_rows'
        ELSE 'SELECT * FROM pmail_old_rows'
    END;
    facts text := CASE TG_OP WHEN 'UPDATE' THEN
            'UNION ALL SELECT f.tenant_id, lower(f.recipient) FROM delivery_facts AS f '
            'JOIN c ON f.tenant_id = c.tenant_id AND f.storage_key = c.storage_key '
            'WHERE f.recipient LIKE ''%_@_%'''
        ELSE '' END;
BEGIN
    FOR t IN EXECUTE format(
        'WITH c AS MATERIALIZED (%s) '
        'SELECT a.tenant_id, array_agg(DISTINCT a.address) AS addresses FROM ('
        'SELECT c.tenant_id, pmail_sender_address(c.from_email) AS address FROM c '
        'WHERE c.direction = ''inbound'' AND c.message_type = ''email'' %s'
        ') AS a WHERE a.address IS NOT NULL GROUP BY a.tenant_id', changed, facts)
    LOOP
        PERFORM pmail_refresh_suppressions(t.tenant_id, t.addresses);
    END LOOP;
    RETURN NULL;
END
$$;

-- tenants -> suppressions: new soft-bounce limits recompute the tenant's list.
CREATE FUNCTION pmail_suppress_limits() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pmail_refresh_suppressions(NEW.tenant_id, NULL);
    RETURN NULL;
END
$$;

CREATE TRIGGER pmail_suppress_insert AFTER INSERT ON delivery_facts
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_suppress_facts();
CREATE TRIGGER pmail_suppress_delete AFTER DELETE ON delivery_facts
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_suppress_facts();
CREATE TRIGGER pmail_suppress_update AFTER UPDATE ON delivery_facts
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_suppress_facts();
CREATE TRIGGER pmail_suppress_insert AFTER INSERT ON email_messages
    REFERENCING NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_suppress_messages();
CREATE TRIGGER pmail_suppress_delete AFTER DELETE ON email_messages
    REFERENCING OLD TABLE AS pmail_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_suppress_messages();
CREATE TRIGGER pmail_suppress_update AFTER UPDATE ON email_messages
    REFERENCING OLD TABLE AS pmail_old_rows NEW TABLE AS pmail_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION pmail_suppress_messages();
CREATE TRIGGER pmail_suppress_limits AFTER UPDATE OF soft_bounce_limit, soft_bounce_days
    ON tenants FOR EACH ROW
    WHEN (OLD.soft_bounce_limit IS DISTINCT FROM NEW.soft_bounce_limit
          OR OLD.soft_bounce_days IS DISTINCT FROM NEW.soft_bounce_days)
    EXECUTE FUNCTION pmail_suppress_limits();

-- Fill it from what is stored already (`pmail analytics rebuild` does the same).
SELECT pmail_scope_all_tenants();
INSERT INTO suppressions (tenant_id, address, reason, detail, evidence, first_key,
    first_at, last_key, last_at, campaign_id, lead_id)
SELECT tenant_id, address, reason, detail, evidence, first_key, first_at, last_key,
       last_at, campaign_id, lead_id
FROM suppressions_expected;

SELECT pmail_grant_app_role();
SELECT pmail_pin_search_paths();
