-- Remember messages refused for their size (a second refusal updates size and time).
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint, uids bigint[], sizes bigint[], max_bytes bigint
INSERT INTO imap_refused AS r (tenant_id, email_account_id, folder, uidvalidity, uid,
                               size_bytes, max_bytes)
SELECT %(tenant_id)s, %(email_account_id)s, %(folder)s, %(uidvalidity)s, u.uid, u.size,
       %(max_bytes)s
FROM unnest(%(uids)s::bigint[], %(sizes)s::bigint[]) AS u (uid, size)
ON CONFLICT (tenant_id, email_account_id, folder, uidvalidity, uid) DO UPDATE
SET size_bytes = excluded.size_bytes, max_bytes = excluded.max_bytes, last_seen = now();
