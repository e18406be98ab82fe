-- Any recipient of the DSN failed for this reason.
AND m.storage_key IN (
    SELECT f.storage_key FROM delivery_facts AS f
    WHERE f.tenant_id = %(tenant_id)s AND f.reason = %(reason)s)
