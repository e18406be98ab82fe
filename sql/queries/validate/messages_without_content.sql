-- Messages whose content row is gone (purged ones keep only their row on purpose; a
-- legacy message row that never had content is migrated without it and recorded as
-- such in migration_anomalies: that is its documented state, counted in the totals).
-- params: tenant_id uuid (NULL: every tenant)
SELECT m.tenant_id, m.storage_key AS item
FROM email_messages AS m
WHERE (%(tenant_id)s::uuid IS NULL OR m.tenant_id = %(tenant_id)s::uuid)
  AND m.purged_at IS NULL
  AND NOT EXISTS (SELECT 1 FROM email_content AS c
                  WHERE c.tenant_id = m.tenant_id AND c.storage_key = m.storage_key)
  AND NOT EXISTS (SELECT 1 FROM migration_anomalies AS a
                  WHERE a.kind = 'ref_without_content'
                    AND a.legacy_table = 'content_inbox_message_refs'
                    AND a.legacy_key = m.storage_key AND a.tenant_id = m.tenant_id
                    AND m.source = 'legacy:content_inbox_message_refs')
