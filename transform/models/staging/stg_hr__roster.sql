-- The HR roster tap-hr-roster loads (source hr.roster, schema var hr_schema): the latest read
-- only, as target-duckdb keeps the rows of earlier reads (it ignores ACTIVATE_VERSION), so a
-- person dropped from the file drops out here. email_key is what the access marts match on:
-- the email lower-cased and trimmed (the roster keeps it as HR wrote it). Empty until a roster
-- is loaded: the table does not exist before (macros/evidence_optional.sql).
with roster as (
    select
        email,
        {{ ts('terminated_at') }} as terminated_at,
        {{ ts('read_at') }} as read_at
    from {{ optional_source('hr', 'roster', {
        'email': 'text', 'terminated_at': 'timestamp', 'read_at': 'timestamp'}) }} as r
)

select
    email,
    lower(trim(email)) as email_key,
    terminated_at,
    read_at
from roster
where read_at = (select max(read_at) from roster)
