-- The filters search_documents has no column for, on the document's message row.
-- The filters placeholder: AND-conditions from sql/queries/search/filters/ (on m).
AND EXISTS (
    SELECT 1 FROM email_messages AS m
    WHERE m.tenant_id = %(tenant_id)s AND m.storage_key = d.storage_key
    {filters})
