-- Legal holds of one tenant (NULL: of every visible tenant), newest first, with the
-- number of messages each covers now.
-- params: tenant_id uuid, include_released boolean
SELECT h.hold_id, h.tenant_id, h.scope, h.value, h.reason, h.created_by, h.created,
       h.released, h.released_by,
       (SELECT count(*) FROM email_messages AS m
        WHERE m.tenant_id = h.tenant_id
          AND pmail_hold_covers(h.scope, h.value, m.storage_key, m.lead_id, m.campaign_id,
                                m.email_account_id)) AS messages
FROM legal_holds AS h
WHERE (%(tenant_id)s::uuid IS NULL OR h.tenant_id = %(tenant_id)s::uuid)
  AND (%(include_released)s OR h.released IS NULL)
ORDER BY h.created DESC, h.hold_id DESC;
