AND m.bounce_class = %(bounce_class)s
