-- Build the search documents of stored messages again (nothing when the tenant has
-- search off); returns how many were built.
-- params: tenant_id uuid, keys text[]
SELECT pmail_put_search_documents(%(tenant_id)s::uuid, %(keys)s::text[]);
