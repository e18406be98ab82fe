-- Whether the server has a database of this name.
-- params: name text
SELECT 1 FROM pg_database WHERE datname = %(name)s;
