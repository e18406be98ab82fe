-- A tenant's suppressions, newest evidence first: every address not to mail again.
-- params: tenant_id uuid, since timestamptz (NULL: all; else latest evidence since)
SELECT s.address, s.reason, s.detail, s.evidence, s.first_at, s.first_key,
       s.last_at, s.last_key, s.campaign_id, s.lead_id
FROM suppressions AS s
WHERE s.tenant_id = %(tenant_id)s
  AND (%(since)s::timestamptz IS NULL OR s.last_at >= %(since)s::timestamptz)
ORDER BY s.last_at DESC, s.address, s.reason;
