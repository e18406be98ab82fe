-- Put a legal hold on the tenant's mail (all of it, or one lead, campaign, account or
-- message); returns the hold (its coverage is counted by count_covered, in a statement
-- of its own: this one may wait for the tenant's writes in flight, 0030).
-- params: tenant_id uuid, scope text, value text, reason text, created_by text
INSERT INTO legal_holds (tenant_id, scope, value, reason, created_by)
VALUES (%(tenant_id)s, %(scope)s, %(value)s, %(reason)s, %(created_by)s)
RETURNING hold_id, tenant_id, scope, value, reason, created_by, created, released,
          released_by, NULL::bigint AS messages;
