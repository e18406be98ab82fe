-- An audit entry's id is the log's, never the writer's. audit_id is GENERATED ALWAYS
-- AS IDENTITY, but INSERT ... OVERRIDING SYSTEM VALUE lets anyone with INSERT choose
-- it, and a tenant login may append entries for its own tenant: one that wrote
-- entries with the next thousand ids (its own entries' ids tell where the sequence
-- is) made every audited act of every tenant, an administrator's too, fail on the
-- primary key until the sequence had passed them; and a refused id told it that an
-- entry of some tenant had it. The stamp trigger now gives every entry the next
-- value of the log's sequence, whatever the INSERT said (ids skip a value per
-- entry: they are unique and ordered, not consecutive).

-- The log's next id: SECURITY DEFINER, as a tenant login has no right on the sequence
-- (an identity column needs none); it tells nothing but the next id.
CREATE FUNCTION pmail_audit_next_id() RETURNS bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT nextval('admin_audit_log_audit_id_seq'::regclass);
END;

-- As 0011, and the id too.
CREATE OR REPLACE FUNCTION pmail_audit_stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.audit_id := pmail_audit_next_id();
    NEW.at := now();
    NEW.db_role := session_user;
    NEW.acting_as := current_user;
    RETURN NEW;
END
$$;

SELECT pmail_pin_search_paths();
