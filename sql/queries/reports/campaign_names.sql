-- Names of campaigns in pmail's own campaigns table.
-- params: ids uuid[]
SELECT campaign_id, name FROM campaigns WHERE campaign_id = ANY(%(ids)s);
