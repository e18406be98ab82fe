-- The text search configurations a tenant may choose (the server's built-in ones).
-- params: none
SELECT cfgname::text FROM pg_ts_config
WHERE cfgnamespace = 'pg_catalog'::regnamespace
ORDER BY cfgname;
