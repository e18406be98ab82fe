-- Make an existing role a member of pmail_app (or pmail_reader: read-only).
-- params: none (identifiers: role, group)
GRANT {group} TO {role};
