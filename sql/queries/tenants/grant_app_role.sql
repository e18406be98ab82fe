-- Make an existing role a member of pmail_app (the rights of tenant work).
-- params: none (identifiers: role)
GRANT pmail_app TO {role};
