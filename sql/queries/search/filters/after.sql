-- Keyset pagination, newest first: the messages after the anchor.
AND (coalesce(m.sent_at, m.created), m.storage_key) < (%(after_date)s, %(after_key)s)
