-- Names of some rows of a table of the operational database; {table}, {id} and {name}
-- are configured identifiers (docs/config.md).
-- params: ids uuid[]
SELECT {id}::text, {name}::text FROM {table} WHERE {id}::text = ANY(%(ids)s::text[]);
