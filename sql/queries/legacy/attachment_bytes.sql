-- The bytes of these legacy attachment rows.
-- params: ids bigint[]
SELECT a.id, coalesce(a.content, ''::bytea) AS content
FROM {attachments} AS a
WHERE a.id = ANY(%(ids)s);
