-- Create a login role for one tenant's work, a member of pmail_app (or pmail_reader,
-- read-only); no ownership, no BYPASSRLS; its password is the operator's to set.
-- params: none (identifiers: role, group)
CREATE ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS IN ROLE {group};
