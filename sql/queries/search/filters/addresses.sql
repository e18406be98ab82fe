-- Every token ('from:a@b', 'to:@b', ...) is among the message's addresses (GIN).
AND pmail_address_tokens(m.from_email, m.to_email, m.cc_email) @> %(addresses)s::text[]
