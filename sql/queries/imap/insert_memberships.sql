-- Record that messages sit in a folder under these UIDs.
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint, uids bigint[], keys text[]
INSERT INTO imap_messages (tenant_id, email_account_id, folder, uidvalidity, uid, storage_key)
SELECT %(tenant_id)s, %(email_account_id)s, %(folder)s, %(uidvalidity)s, u.uid, u.storage_key
FROM unnest(%(uids)s::bigint[], %(keys)s::text[]) AS u (uid, storage_key)
ON CONFLICT DO NOTHING;
