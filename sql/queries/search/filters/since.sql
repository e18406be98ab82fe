-- The message's date (sent, else stored) is at or after %(since)s.
AND coalesce(m.sent_at, m.created) >= %(since)s
