-- How many messages match.
-- The filters placeholder: AND-conditions from sql/queries/search/filters/, chosen by the service.
-- params: tenant_id uuid, and the filters' own
SELECT count(*)
FROM email_messages AS m
WHERE m.tenant_id = %(tenant_id)s
{filters};
