-- Move a backfill's cursor past the rows of a committed batch.
-- params: name text, after_key text
UPDATE pmail_backfills SET after_key = %(after_key)s WHERE name = %(name)s;
