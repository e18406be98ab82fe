-- Create pmail's database in the embedded server ({database}: an identifier).
-- params: none
CREATE DATABASE {database};
