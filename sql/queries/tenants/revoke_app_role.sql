-- Take an existing role out of pmail_app or pmail_reader (the other of the two a
-- login is put in), so a login is exactly what `tenant login` was asked for.
-- params: none (identifiers: role, group)
REVOKE {group} FROM {role};
