-- Today in a time zone, and the first instant and first day of a rolling window of
-- `days` days that ends now: what the seed's `created >= now() - interval 'N days'`
-- counts from, in a session whose TimeZone is `tz`.
-- params: days int, tz text
SELECT (now() AT TIME ZONE %(tz)s)::date AS today,
       (pmail_days_before(now(), %(days)s, %(tz)s) AT TIME ZONE %(tz)s)::date AS first_day,
       pmail_days_before(now(), %(days)s, %(tz)s) AS start;
