-- Record jobs that ended (a redelivered job already logged is left as it was).
-- params: tenant_id uuid, job_ids uuid[], job_types text[], priorities text[], outcomes text[], attempts int[], storage_keys text[], sources text[], errors text[], enqueued timestamptz[], started timestamptz[]
INSERT INTO job_log (tenant_id, job_id, job_type, priority, outcome, attempts,
                     storage_key, source, error, enqueued, started)
SELECT %(tenant_id)s, j.*
FROM unnest(%(job_ids)s::uuid[], %(job_types)s::text[], %(priorities)s::text[],
            %(outcomes)s::text[], %(attempts)s::int[], %(storage_keys)s::text[],
            %(sources)s::text[], %(errors)s::text[], %(enqueued)s::timestamptz[],
            %(started)s::timestamptz[])
     AS j (job_id, job_type, priority, outcome, attempts, storage_key, source, error,
           enqueued, started)
ON CONFLICT (tenant_id, job_id) DO NOTHING;
