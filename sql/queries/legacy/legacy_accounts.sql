-- The sending accounts legacy messages name that pmail does not know yet, each with
-- the address its outbound mail most often came from.
-- params: none
SELECT r.tenant_id, r.email_account_id,
       (SELECT lower(trim(o.from_email))
        FROM {refs} AS o
        WHERE o.tenant_id = r.tenant_id AND o.email_account_id = r.email_account_id
          AND o.from_email LIKE '%%@%%' AND lower(trim(o.direction)) IN ('outbound', 'out')
        GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1) AS email
FROM (SELECT DISTINCT tenant_id, email_account_id FROM {refs}
      WHERE email_account_id IS NOT NULL) AS r
WHERE NOT EXISTS (SELECT 1 FROM email_accounts AS e
                  WHERE e.tenant_id = r.tenant_id
                    AND e.email_account_id = r.email_account_id);
