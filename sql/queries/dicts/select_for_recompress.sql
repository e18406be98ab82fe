-- A batch of the tenant's raw forms not yet compressed with a given dictionary
-- (never a held message's: a legal hold keeps its stored bytes as they are).
-- params: tenant_id uuid, dict_id int, only_plain bool, limit int
SELECT storage_key, raw_data, compression, dict_id
FROM email_content
WHERE tenant_id = %(tenant_id)s AND raw_data IS NOT NULL
  AND dict_id IS DISTINCT FROM %(dict_id)s
  AND (NOT %(only_plain)s OR dict_id IS NULL)
  AND NOT pmail_message_held(tenant_id, storage_key)
  -- a migrated message has no digest to check new bytes by: only a trusted session
  -- moves it (a tenant login may not: migration 0033)
  AND (raw_form <> 'legacy' OR pmail_session_binding() IS NULL)
ORDER BY storage_key
LIMIT %(limit)s;
