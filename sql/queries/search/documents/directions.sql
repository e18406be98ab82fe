AND d.direction = ANY(%(directions)s::text[])
