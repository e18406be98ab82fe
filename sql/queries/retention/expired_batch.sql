-- The next batch of the tenant's messages whose content has expired and that no hold
-- covers. Expiry: the content's `expires`, else arrival (`email_messages.created`)
-- plus the content's retention_days, else the tenant's, else 2555 days.
-- Keyset order: each batch starts after the last key of the one before, so a purge
-- reads the tenant's rows once however many batches it takes.
-- params: tenant_id uuid, now timestamptz, after text, limit integer
SELECT c.storage_key, c.raw_size_bytes, c.compressed_size_bytes
FROM email_content AS c
JOIN email_messages AS m ON m.tenant_id = c.tenant_id AND m.storage_key = c.storage_key
JOIN tenants AS t ON t.tenant_id = c.tenant_id
WHERE c.tenant_id = %(tenant_id)s
  AND c.storage_key > %(after)s
  AND pmail_expiry(c.expires, m.created, c.retention_days, t.retention_days)
      <= %(now)s
  AND NOT c.legal_hold
  AND NOT pmail_is_held(c.tenant_id, c.storage_key, m.lead_id, m.campaign_id,
                        m.email_account_id)
ORDER BY c.storage_key
LIMIT %(limit)s;
