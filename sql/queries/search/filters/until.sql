-- The message's date is before %(until)s (exclusive).
AND coalesce(m.sent_at, m.created) < %(until)s
