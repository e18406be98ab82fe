-- Which of these attachment hashes the tenant already stores, with the row's version
-- (xmin: a row deleted and inserted again, as a planted file would be, is another).
-- Share-locked until the batch commits: the writer checks a row before it reuses it,
-- and no other session may change or delete it between that check and the commit
-- (a tenant login swapped a checked row for a planted one in that window).
-- params: tenant_id uuid, hashes bytea[]
SELECT sha256, xmin::text
FROM attachment_blobs
WHERE tenant_id = %(tenant_id)s AND sha256 = ANY(%(hashes)s)
ORDER BY sha256
FOR SHARE;
