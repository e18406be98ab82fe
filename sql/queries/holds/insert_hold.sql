-- Put a legal hold on the tenant's mail (all of it, or one lead, campaign, account or
-- message); returns the hold with the number of messages it covers.
-- params: tenant_id uuid, scope text, value text, reason text, created_by text
WITH h AS (
    INSERT INTO legal_holds (tenant_id, scope, value, reason, created_by)
    VALUES (%(tenant_id)s, %(scope)s, %(value)s, %(reason)s, %(created_by)s)
    RETURNING *
)
SELECT h.hold_id, h.tenant_id, h.scope, h.value, h.reason, h.created_by, h.created,
       h.released, h.released_by,
       (SELECT count(*) FROM email_messages AS m
        WHERE m.tenant_id = h.tenant_id
          AND pmail_hold_covers(h.scope, h.value, m.storage_key, m.lead_id, m.campaign_id,
                                m.email_account_id)) AS messages
FROM h;
