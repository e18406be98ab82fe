-- A backfill reached its end.
-- params: name text
DELETE FROM pmail_backfills WHERE name = %(name)s;
