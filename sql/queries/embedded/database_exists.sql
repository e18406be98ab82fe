-- Whether the embedded server already has pmail's database.
-- params: name text
SELECT 1 FROM pg_database WHERE datname = %(name)s;
