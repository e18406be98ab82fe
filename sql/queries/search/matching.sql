-- The tenant's messages that pass the filters, newest first (the message's date:
-- sent, else stored), at most `scan` of them: the first part of both orders.
-- The filters placeholder: AND-conditions from sql/queries/search/filters/.
-- `document` is NULL here (the message row has none): ranked.sql looks it up.
SELECT m.storage_key, coalesce(m.sent_at, m.created) AS date, NULL::tsvector AS document
FROM email_messages AS m
WHERE m.tenant_id = %(tenant_id)s
{filters}
ORDER BY coalesce(m.sent_at, m.created) DESC, m.storage_key DESC
LIMIT %(scan)s
