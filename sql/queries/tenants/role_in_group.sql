-- Whether a role has a group's rights, directly or through another role.
-- params: role_name text, group_name text
SELECT pg_has_role(%(role_name)s::name, %(group_name)s::name, 'MEMBER');
