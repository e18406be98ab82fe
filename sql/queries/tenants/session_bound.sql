-- Whether the session is bound to a tenant (a tenant's login, or a role that is
-- neither bound nor trusted): such a session does not rewrite stored mail.
-- params: none
SELECT pmail_session_binding() IS NOT NULL AS bound;
