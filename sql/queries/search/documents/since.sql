AND d.date >= %(since)s
