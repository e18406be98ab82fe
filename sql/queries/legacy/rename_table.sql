-- Rename a table within its schema ({table}: schema-qualified, {new_name}: bare).
-- params: none
ALTER TABLE {table} RENAME TO {new_name};
