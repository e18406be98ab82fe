-- Make the current transaction read-only: a dry run cannot change anything.
-- params: none
SET TRANSACTION READ ONLY;
