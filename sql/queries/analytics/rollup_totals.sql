-- Rollup totals against the same totals counted from the base tables, per tenant: the
-- check that rebuild equals incremental (validate and tests use it).
-- params: tenant_id uuid (NULL: every tenant)
WITH r AS (
    SELECT tenant_id, sum(messages) AS messages, sum(raw_bytes) AS raw_bytes,
           sum(attachments) AS attachments, sum(replies) AS replies
    FROM message_rollups
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
    GROUP BY tenant_id
),
b AS (
    SELECT tenant_id, count(*) AS messages, sum(coalesce(raw_size_bytes, 0)) AS raw_bytes,
           sum(attachment_count) AS attachments, sum(is_reply::int) AS replies
    FROM email_messages
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
    GROUP BY tenant_id
)
SELECT coalesce(r.tenant_id, b.tenant_id) AS tenant_id,
       coalesce(r.messages, 0)::bigint AS rollup_messages,
       coalesce(b.messages, 0)::bigint AS base_messages,
       coalesce(r.raw_bytes, 0)::bigint AS rollup_raw_bytes,
       coalesce(b.raw_bytes, 0)::bigint AS base_raw_bytes
FROM r FULL JOIN b USING (tenant_id)
ORDER BY 1;
