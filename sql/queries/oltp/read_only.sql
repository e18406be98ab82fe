-- This session only reads the operational database.
-- params: none
SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY;
