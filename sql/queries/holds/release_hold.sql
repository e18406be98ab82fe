-- Release an active hold (its record stays); returns it, or no row if there is no
-- such active hold among the visible ones.
-- params: tenant_id uuid (NULL: any visible tenant), hold_id bigint, released_by text
UPDATE legal_holds
SET released = now(), released_by = %(released_by)s
WHERE (%(tenant_id)s::uuid IS NULL OR tenant_id = %(tenant_id)s::uuid)
  AND hold_id = %(hold_id)s AND released IS NULL
RETURNING hold_id, tenant_id, scope, value, reason, created_by, created, released,
          released_by, NULL::bigint AS messages;
