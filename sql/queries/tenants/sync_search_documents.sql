-- Bring full-text documents in line with their tenant's setting (built when search
-- is on, dropped when off); returns how many content rows changed.
-- params: tenant_id uuid (NULL: every tenant the session sees)
SELECT pmail_sync_search_documents(%(tenant_id)s::uuid);
