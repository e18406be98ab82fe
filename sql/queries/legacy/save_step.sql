-- Move a step's position (same transaction as the batch it follows); rows add up.
-- params: step text, last_key text, rows int, finished bool
INSERT INTO legacy_migration_steps AS s (step, last_key, rows_done, finished)
VALUES (%(step)s, %(last_key)s, %(rows)s, CASE WHEN %(finished)s THEN now() END)
ON CONFLICT (step) DO UPDATE
SET last_key = coalesce(excluded.last_key, s.last_key),
    rows_done = s.rows_done + excluded.rows_done,
    updated = now(),
    finished = coalesce(excluded.finished, s.finished);
