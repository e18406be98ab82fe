-- Every legacy message row as refs_page reads it, bodies left out (the rules the dry
-- run applies to predict the run's anomalies never read them).
-- params: none
SELECT r.storage_key, r.tenant_id, r.email_account_id, r.campaign_id, r.lead_id,
       r.parent_message_id, r.direction, r.message_type, r.from_email, r.to_email,
       r.subject, r.status, r.processed, r.created, r.updated,
       c.storage_key IS NOT NULL AS has_content, c.tenant_id AS content_tenant_id,
       NULL::text AS content_text, NULL::text AS content_html, c.headers::text AS headers,
       c.raw_size_bytes, c.created AS content_created, c.expires, c.retention_days
FROM {refs} AS r
LEFT JOIN {content} AS c ON c.storage_key = r.storage_key;
