-- Serialise ingest batches of one tenant until the transaction ends: the lock of the
-- tenant's row in tenant_write_locks (made on first use), which only a session that
-- may write the tenant's rows can take (migration 0027; docs/security.md).
-- params: tenant_id uuid
INSERT INTO tenant_write_locks (tenant_id) VALUES (%(tenant_id)s)
ON CONFLICT (tenant_id) DO UPDATE SET tenant_id = excluded.tenant_id;
