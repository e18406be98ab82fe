AND d.date < %(until)s
