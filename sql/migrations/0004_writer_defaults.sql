-- The batch writer leaves a column out of a batch's COPY when no row of the batch sets
-- it, so the table's default applies (src/pmail_cli/rows.py). `processed` (when pmail
-- stored the message) was set by the insert statement itself; now it is a default.
ALTER TABLE email_messages ALTER COLUMN processed SET DEFAULT now();
