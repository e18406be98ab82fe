-- List (or restart) the rebuild of one tenant's search documents, from its first key.
-- params: name text (search_rebuild:<tenant_id>), tenant_id uuid
INSERT INTO pmail_backfills (name, after_tenant, after_key)
VALUES (%(name)s, %(tenant_id)s, NULL)
ON CONFLICT (name) DO UPDATE SET after_tenant = EXCLUDED.after_tenant, after_key = NULL,
                                 started = now();
