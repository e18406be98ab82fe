-- A DSN about this recipient.
AND m.storage_key IN (
    SELECT f.storage_key FROM delivery_facts AS f
    WHERE f.tenant_id = %(tenant_id)s AND lower(f.recipient) = %(recipient)s)
