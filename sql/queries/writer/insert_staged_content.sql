-- Move staged content rows of the newly inserted messages in, with their full-text
-- document (subject, attachment file names, DSN diagnostics, text body, the names and
-- addresses of From, To and Cc) in the tenant's search language, unless the tenant has
-- search turned off. The staged messages, file names and diagnostics are joined once
-- per batch (hashed), not looked up row by row: the staging tables have no index, and a
-- lookup per row is quadratic in the batch (1 ms a row at 1,700 rows a batch).
-- {columns}: tenant_id and the fields of rows.ContentRow.
-- params: none (pmail_stage_new holds the inserted keys)
INSERT INTO email_content ({columns}, search_vector)
SELECT s.*,
       CASE WHEN t.search_index THEN pmail_search_vector(
           t.search_language::regconfig,
           m.subject,
           a.filenames,
           f.diagnostics,
           s.content_text,
           CASE WHEN m.storage_key IS NOT NULL THEN
               pmail_search_names(m.from_name, m.from_email, m.to_email, m.cc_email,
                                  s.headers)
           END)
       END
FROM (
    SELECT {columns}
    FROM pmail_stage_content
    WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new)
) AS s
JOIN tenants AS t ON t.tenant_id = s.tenant_id
LEFT JOIN (
    SELECT DISTINCT ON (storage_key)
           storage_key, subject, from_name, from_email, to_email, cc_email
    FROM pmail_stage_messages
    ORDER BY storage_key
) AS m ON m.storage_key = s.storage_key
LEFT JOIN (
    SELECT parent_storage_key, string_agg(filename, ' ' ORDER BY part_index) AS filenames
    FROM pmail_stage_attachments
    GROUP BY parent_storage_key
) AS a ON a.parent_storage_key = s.storage_key
LEFT JOIN (
    SELECT storage_key,
           string_agg(diagnostic_code, ' ' ORDER BY recipient_index) AS diagnostics
    FROM pmail_stage_facts
    GROUP BY storage_key
) AS f ON f.storage_key = s.storage_key;
