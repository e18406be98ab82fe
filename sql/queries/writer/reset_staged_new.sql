-- Forget the keys an earlier batch inserted. A batch normally ends with a commit,
-- which empties pmail_stage_new (ON COMMIT DELETE ROWS); this keeps a batch written
-- inside a savepoint from re-inserting another batch's rows.
-- params: none
DELETE FROM pmail_stage_new;
