AND m.lead_id = %(lead)s
