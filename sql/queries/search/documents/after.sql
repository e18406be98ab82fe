-- Keyset pagination, newest first: the messages after the anchor.
AND (d.date, d.storage_key) < (%(after_date)s, %(after_key)s)
