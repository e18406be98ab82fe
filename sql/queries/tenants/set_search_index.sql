-- Turn a tenant's full-text index on or off: the setting, then its documents built
-- (as the writer builds them) or dropped.
-- params: tenant_id uuid, on bool
WITH setting AS (
    UPDATE tenants SET search_index = %(on)s WHERE tenant_id = %(tenant_id)s
)
UPDATE email_content AS c
SET search_vector = CASE
    WHEN %(on)s THEN pmail_stored_search_vector(c.tenant_id, c.storage_key) END
WHERE c.tenant_id = %(tenant_id)s
  AND (c.search_vector IS NULL) = %(on)s;
