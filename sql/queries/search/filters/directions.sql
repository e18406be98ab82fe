AND m.direction = ANY(%(directions)s::text[])
