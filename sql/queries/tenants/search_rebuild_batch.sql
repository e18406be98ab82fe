-- One batch of a search-document rebuild (`search_rebuild` or
-- `search_rebuild:<tenant_id>`): how many content rows it looked at.
-- params: name text, batch int
SELECT pmail_backfill_search_rebuild(%(name)s, %(batch)s);
