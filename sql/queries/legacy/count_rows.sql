-- The legacy rows a migration goes through: message rows and content rows without one.
-- params: none
SELECT (SELECT count(*) FROM {refs})
     + (SELECT count(*) FROM {content} AS c
        WHERE NOT EXISTS (SELECT 1 FROM {refs} AS r WHERE r.storage_key = c.storage_key));
