-- A DSN's per-recipient delivery facts in order.
-- params: tenant_id uuid, storage_key text
SELECT recipient, action, status, reported_status, reply_code, reason, hard,
       diagnostic_code, remote_mta
FROM delivery_facts
WHERE tenant_id = %(tenant_id)s AND storage_key = %(storage_key)s
ORDER BY recipient_index;
