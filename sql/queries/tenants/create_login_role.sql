-- Create a login role for one tenant's work, a member of pmail_app (no ownership, no
-- BYPASSRLS); its password is the operator's to set.
-- params: none (identifiers: role)
CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS IN ROLE pmail_app;
