AND d.message_type = ANY(%(types)s::text[])
