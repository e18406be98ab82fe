-- The schema new tables are created in (the first of search_path).
-- params: none
SELECT current_schema();
