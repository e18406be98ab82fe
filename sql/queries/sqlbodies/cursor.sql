-- Where one tenant's SQL-columns backfill stands (locked until the batch commits);
-- no row: nothing to do.
-- params: name text
SELECT after_tenant, after_key FROM pmail_backfills WHERE name = %(name)s FOR UPDATE;
