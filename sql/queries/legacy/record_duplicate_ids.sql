-- Record migrated messages that share a Message-ID with another message of their tenant.
-- params: none
INSERT INTO migration_anomalies (kind, legacy_table, legacy_key, tenant_id, detail)
SELECT 'duplicate_message_id', substr(m.source, 8), m.storage_key, m.tenant_id,
       'Message-ID ' || left(m.message_id, 200) || ' is shared by ' || d.n || ' messages'
FROM email_messages AS m
JOIN (SELECT tenant_id, message_id, count(*) AS n
      FROM email_messages
      WHERE message_id IS NOT NULL
      GROUP BY tenant_id, message_id
      HAVING count(*) > 1) AS d USING (tenant_id, message_id)
WHERE m.source LIKE 'legacy:%%'
ON CONFLICT (pmail_unmatchable(kind), pmail_unmatchable(legacy_table),
             pmail_unmatchable(legacy_key)) DO NOTHING;
