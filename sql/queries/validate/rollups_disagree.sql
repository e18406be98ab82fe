-- Rollup groups that differ from the same groups counted from the base tables (groups
-- whose counts all went back to zero are the same as absent ones).
-- params: tenant_id uuid (NULL: every tenant)
WITH actual_m AS (
    SELECT tenant_id, day, campaign_id, email_account_id, direction, message_type, status,
           bounce_class, bounce_reason, messages, raw_bytes, attachments, replies
    FROM message_rollups
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND (messages, raw_bytes, attachments, replies) <> (0, 0, 0, 0)
),
expected_m AS (
    SELECT tenant_id, day, campaign_id, email_account_id, direction, message_type, status,
           bounce_class, bounce_reason, messages, raw_bytes, attachments, replies
    FROM message_rollups_expected
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
),
actual_s AS (
    SELECT tenant_id, day, messages, raw_bytes, stored_bytes, attachment_refs,
           attachment_bytes, blobs, blob_bytes, blob_stored_bytes
    FROM storage_rollups
    WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
      AND (messages, raw_bytes, stored_bytes, attachment_refs, attachment_bytes, blobs,
           blob_bytes, blob_stored_bytes) <> (0, 0, 0, 0, 0, 0, 0, 0)
),
expected_s AS (
    SELECT tenant_id, day, messages, raw_bytes, stored_bytes, attachment_refs,
           attachment_bytes, blobs, blob_bytes, blob_stored_bytes
    FROM storage_rollups_expected
    WHERE %(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid
),
diff_m AS ((SELECT * FROM actual_m EXCEPT ALL SELECT * FROM expected_m)
           UNION ALL (SELECT * FROM expected_m EXCEPT ALL SELECT * FROM actual_m)),
diff_s AS ((SELECT * FROM actual_s EXCEPT ALL SELECT * FROM expected_s)
           UNION ALL (SELECT * FROM expected_s EXCEPT ALL SELECT * FROM actual_s))
SELECT DISTINCT tenant_id, 'message_rollups ' || day || ' ' || direction || ' '
       || message_type || ' ' || status AS item
FROM diff_m
UNION ALL
SELECT DISTINCT tenant_id, 'storage_rollups ' || day
FROM diff_s
