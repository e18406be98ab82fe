-- Move staged content rows of the newly inserted messages in, with their full-text
-- document (subject, attachment file names, DSN diagnostics, text body, the names and
-- addresses of From, To and Cc) in the tenant's search language, unless the tenant has
-- search turned off.
-- {columns}: tenant_id and the fields of rows.ContentRow.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO email_content ({columns}, search_vector)
SELECT s.*,
       CASE WHEN t.search_index THEN pmail_search_vector(
           t.search_language::regconfig,
           (SELECT m.subject FROM pmail_stage_messages AS m
            WHERE m.storage_key = s.storage_key LIMIT 1),
           (SELECT string_agg(a.filename, ' ' ORDER BY a.part_index)
            FROM pmail_stage_attachments AS a WHERE a.parent_storage_key = s.storage_key),
           (SELECT string_agg(f.diagnostic_code, ' ' ORDER BY f.recipient_index)
            FROM pmail_stage_facts AS f WHERE f.storage_key = s.storage_key),
           s.content_text,
           (SELECT pmail_search_names(m.from_name, m.from_email, m.to_email, m.cc_email,
                                      s.headers)
            FROM pmail_stage_messages AS m
            WHERE m.storage_key = s.storage_key LIMIT 1))
       END
FROM (
    SELECT {columns}
    FROM pmail_stage_content
    WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new)
) AS s
JOIN tenants AS t ON t.tenant_id = s.tenant_id;
