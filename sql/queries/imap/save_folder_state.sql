-- Record a folder's UIDVALIDITY and last committed UID (never moving backwards within
-- one UIDVALIDITY; a new UIDVALIDITY starts over).
-- params: tenant_id uuid, email_account_id uuid, folder text, uidvalidity bigint, last_uid bigint, highest_modseq bigint, direction text
INSERT INTO imap_folders AS f (tenant_id, email_account_id, folder, uidvalidity, last_uid,
                               highest_modseq, direction)
VALUES (%(tenant_id)s, %(email_account_id)s, %(folder)s, %(uidvalidity)s, %(last_uid)s,
        %(highest_modseq)s, %(direction)s)
ON CONFLICT (tenant_id, email_account_id, folder) DO UPDATE
SET last_uid = CASE WHEN f.uidvalidity = excluded.uidvalidity
                    THEN greatest(f.last_uid, excluded.last_uid)
                    ELSE excluded.last_uid END,
    uidvalidity = excluded.uidvalidity,
    highest_modseq = coalesce(excluded.highest_modseq, f.highest_modseq),
    direction = excluded.direction,
    synced_at = now();
