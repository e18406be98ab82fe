-- Serialise ingest batches of one tenant until the transaction ends.
-- params: tenant_id uuid
SELECT pg_advisory_xact_lock(hashtextextended('pmail-ingest:' || %(tenant_id)s::text, 0));
