-- Tenant names are printed in every table that lists tenants, in summaries and in
-- errors: a name may not hold a control character (C0, DEL, C1: a newline breaks a
-- table, an ESC recolours a terminal), a format character (zero-width and bidi
-- controls, the soft hyphen, the BOM: two names that look the same) or a line or
-- paragraph separator. These are Unicode 14's categories Cc, Cf, Zl and Zp, the same
-- rule as services.tenants.check_tenant_name (tests/db/test_tenant_names.py compares
-- the two over every code point).
CREATE OR REPLACE FUNCTION pmail_plain_name(name text) RETURNS boolean
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN name !~ '[\u0001-\u001f\u007f-\u009f\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890-\u0891\u08e2\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f]';

-- NOT VALID: a name stored before this migration stays (the migration cannot choose
-- a new one for it); every new name and every change of a row is checked.
-- `pmail validate` reports the old ones (check tenant_names) and `pmail tenant set
-- NAME --rename NEW` fixes them.
ALTER TABLE tenants DROP CONSTRAINT IF EXISTS tenants_name_plain;
ALTER TABLE tenants ADD CONSTRAINT tenants_name_plain
    CHECK (pmail_plain_name(name)) NOT VALID;
