-- IMAP folders whose checkpoint (last committed UID) is beyond every UID stored for
-- the folder under its UIDVALIDITY: the next import would skip mail.
-- params: tenant_id uuid (NULL: every tenant)
SELECT f.tenant_id, f.folder || ' last_uid ' || f.last_uid || ' > '
       || coalesce(s.max_uid, 0) AS item
FROM imap_folders AS f
LEFT JOIN LATERAL (
    SELECT max(i.uid) AS max_uid FROM imap_messages AS i
    WHERE i.tenant_id = f.tenant_id AND i.email_account_id = f.email_account_id
      AND i.folder = f.folder AND i.uidvalidity = f.uidvalidity
) AS s ON true
WHERE (%(tenant_id)s::uuid IS NULL OR f.tenant_id = %(tenant_id)s::uuid)
  AND f.last_uid > coalesce(s.max_uid, 0)
