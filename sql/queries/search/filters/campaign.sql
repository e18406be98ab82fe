AND m.campaign_id = %(campaign)s
