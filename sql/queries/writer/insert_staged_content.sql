-- Move staged content rows of the newly inserted messages in, and their full-text
-- documents into search_documents (subject, attachment file names, DSN diagnostics,
-- text body, the names and addresses of From, To and Cc, the extra and enclosed
-- text the prepare step found (mail/searchtext.py), in the tenant's search language) with the message's date, type and direction, unless the tenant has search
-- turned off. The staged file names and diagnostics are joined once per batch
-- (hashed), not looked up row by row: the staging tables have no index, and a lookup
-- per row is quadratic in the batch (1 ms a row at 1,700 rows a batch); the message
-- rows, inserted just before, are read on their primary key.
-- {columns}: tenant_id and the fields of rows.ContentRow.
-- params: none (pmail_stage_new holds the inserted keys)
WITH content AS (
    INSERT INTO email_content ({columns})
    SELECT {columns}
    FROM pmail_stage_content
    WHERE storage_key IN (SELECT storage_key FROM pmail_stage_new)
    RETURNING tenant_id, storage_key, content_text, headers, search_extra,
              search_enclosed
)
INSERT INTO search_documents (tenant_id, storage_key, date, message_type, direction,
                              document)
SELECT s.tenant_id, s.storage_key, coalesce(m.sent_at, m.created), m.message_type,
       m.direction,
       pmail_search_vector(
           t.search_language::regconfig,
           m.subject,
           a.filenames,
           f.diagnostics,
           s.content_text,
           pmail_search_names(m.from_name, m.from_email, m.to_email, m.cc_email,
                              s.headers),
           s.search_extra,
           s.search_enclosed)
FROM content AS s
JOIN tenants AS t ON t.tenant_id = s.tenant_id AND t.search_index
JOIN email_messages AS m ON m.tenant_id = s.tenant_id AND m.storage_key = s.storage_key
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
