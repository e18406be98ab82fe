-- Columns and index expressions of pmail's schema that collect no planner statistics
-- (target 0, migrations 0039 and 0041) yet still have some from an ANALYZE before:
-- a tenant login's EXPLAIN estimates from them, so they tell other tenants' values.
-- ANALYZE does not remove them; only a superuser may (docs/migrations.md). As
-- "table.column" (an index's expression column as "index.expr").
-- params: none
SELECT c.relname || '.' || a.attname
FROM pg_attribute AS a
JOIN pg_class AS c ON c.oid = a.attrelid
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE c.relnamespace = (SELECT relnamespace FROM pg_class
                        WHERE oid = 'email_messages'::regclass)
  AND c.relkind IN ('r', 'i') AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attstattarget = 0
  AND EXISTS (SELECT 1 FROM pg_stats AS s
              WHERE s.schemaname = n.nspname AND s.tablename = c.relname
                AND s.attname = a.attname)
ORDER BY 1;
