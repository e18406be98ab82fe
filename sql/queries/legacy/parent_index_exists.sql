-- Whether some valid index of the legacy attachments table starts with
-- parent_storage_key (the migration looks files up by it).
-- params: none ({attachments}: the table)
SELECT EXISTS (
    SELECT 1
    FROM pg_index AS i
    JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = %(table)s::regclass AND a.attname = 'parent_storage_key'
      AND i.indisvalid
);
