-- What a purge would delete for one tenant now: messages, their sizes as they arrived
-- and as stored, and how many expired ones holds keep.
-- params: tenant_id uuid, now timestamptz
SELECT count(*) FILTER (WHERE NOT e.held) AS messages,
       coalesce(sum(e.raw_size_bytes) FILTER (WHERE NOT e.held), 0)::bigint AS raw_bytes,
       coalesce(sum(e.compressed_size_bytes) FILTER (WHERE NOT e.held), 0)::bigint
           AS stored_bytes,
       count(*) FILTER (WHERE e.held) AS held
FROM (
    SELECT c.raw_size_bytes, c.compressed_size_bytes,
           c.legal_hold OR pmail_is_held(c.tenant_id, c.storage_key, m.lead_id,
                                         m.campaign_id, m.email_account_id) AS held
    FROM email_content AS c
    JOIN email_messages AS m
      ON m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
    JOIN tenants AS t ON t.tenant_id = c.tenant_id
    WHERE c.tenant_id = %(tenant_id)s
      AND pmail_expiry(c.expires, m.created, c.retention_days, t.retention_days)
          <= %(now)s
) AS e;
