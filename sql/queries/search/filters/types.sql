AND m.message_type = ANY(%(types)s::text[])
