AND m.status = ANY(%(statuses)s::text[])
