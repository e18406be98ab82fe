-- Create pmail_app if it is missing and this role may, and grant it the rights of
-- tenant work; false when it does not exist.
-- params: none
SELECT pmail_grant_app_role();
