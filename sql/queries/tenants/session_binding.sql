-- The tenant this session is bound to: NULL for a trusted session (the owner,
-- pmail_admin, pmail_analyst), the nil uuid for a role that is neither bound nor
-- trusted (it sees no rows).
-- params: none
SELECT pmail_session_binding() AS binding;
