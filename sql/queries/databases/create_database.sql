-- Create a database on the server ({database}: an identifier): pmail's own in the
-- embedded server, or the one `pmail init-db --create` names.
-- params: none
CREATE DATABASE {database};
