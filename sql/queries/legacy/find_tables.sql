-- The tables of one schema that the legacy migration cares about, with what tells the
-- legacy attachments table (no tenant_id, a content column) from pmail's own.
-- params: schema text
SELECT c.relname AS name,
       EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
           AS has_tenant_id,
       EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'content' AND NOT a.attisdropped)
           AS has_content
FROM pg_class AS c
JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s AND c.relkind IN ('r', 'p');
