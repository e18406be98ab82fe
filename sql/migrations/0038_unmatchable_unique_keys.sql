-- Global unique keys a tenant login's queries cannot reach (red-team finding of
-- 2026-12-08, docs/security.md "Counting another tenant's rows through EXPLAIN").
--
-- Two unique indexes of tables a tenant login reads do not begin with tenant_id:
-- `tenants (name)` and `migration_anomalies (kind, legacy_table, legacy_key)`. Both
-- must stay unique across tenants (a tenant's name; a legacy row is recorded once,
-- whoever it turns out to belong to). Row-level security is applied after an index
-- scan has applied the query's own leakproof conditions (text `=`), and EXPLAIN
-- ANALYZE prints how many rows it removed: as acme's login, `EXPLAIN ANALYZE SELECT 1
-- FROM tenants WHERE name = 'globex'` said "Rows Removed by Filter: 1" exactly when a
-- tenant globex exists, and the same on migration_anomalies said whether another
-- tenant's migration recorded an anomaly for a given legacy key.
--
-- Now each is a unique index on expressions of `pmail_unmatchable(text)`, which
-- returns its argument and which no tenant login may execute: a login's query can
-- write no condition the index matches (calling the function fails with "permission
-- denied" before anything is read), and its lookups by name or key read its own rows
-- through the tenant_id indexes. Every column is wrapped, so no column of the index
-- is left for a scan of the whole index to test. Whoever writes these tables (the
-- owner, pmail_admin) executes the function: an insert computes the index
-- expressions. The GIN indexes that do not begin with tenant_id (addresses, unlinked
-- link keys, the search weeks) need no change: their operators (`@>`, `&&`, `@@`)
-- are not leakproof, so PostgreSQL never uses them as index conditions under
-- row-level security (tests/db/test_trust_explain.py probes them too).

CREATE FUNCTION pmail_unmatchable(value text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN value;
END
$$;

REVOKE EXECUTE ON FUNCTION pmail_unmatchable(text) FROM PUBLIC;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pmail_admin') THEN
        GRANT EXECUTE ON FUNCTION pmail_unmatchable(text) TO pmail_admin;
    END IF;
END
$$;

CREATE UNIQUE INDEX tenants_name_unique ON tenants (pmail_unmatchable(name));
ALTER TABLE tenants DROP CONSTRAINT tenants_name_key;

CREATE UNIQUE INDEX migration_anomalies_legacy_row ON migration_anomalies (
    pmail_unmatchable(kind), pmail_unmatchable(legacy_table),
    pmail_unmatchable(legacy_key));
ALTER TABLE migration_anomalies
    DROP CONSTRAINT migration_anomalies_kind_legacy_table_legacy_key_key;

SELECT pmail_pin_search_paths();
SELECT pmail_grant_app_role();
