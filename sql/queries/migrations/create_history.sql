-- The record of applied migrations (created before the first one runs).
-- params: none
CREATE TABLE IF NOT EXISTS pmail_schema_migrations (
    version    integer PRIMARY KEY,
    name       text NOT NULL,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL DEFAULT current_user
);
