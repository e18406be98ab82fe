-- Whether this session is neither bound to a tenant nor trusted (it sees no rows).
-- params: none
SELECT pmail_session_binding() = '00000000-0000-0000-0000-000000000000'::uuid AS untrusted;
