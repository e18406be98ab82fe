-- Drop pmail's index on the legacy attachments when an interrupted build left it
-- invalid, so it can be built again ({index}: schema-qualified name).
-- params: none
DROP INDEX CONCURRENTLY IF EXISTS {index};
