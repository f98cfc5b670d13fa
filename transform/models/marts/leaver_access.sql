-- Leavers' access: everyone the HR roster says left (terminated_at set), with every Segment
-- and Fivetran account they ever had (matched on the email of any version of the account,
-- without regard to case), the account's status now, when the history first showed it
-- removed and not back since, and whether that was within the grace period after leaving
-- (dbt var leaver_grace_days, default 1 day). Removal times are when a build first found the
-- account gone, so they are as fine as the evidence job's schedule.
{%- set grace = var('leaver_grace_days', 1) %}
{%- if not modules.re.fullmatch('[0-9]+([.][0-9]+)?', grace | string | trim) %}
    {{ exceptions.raise_compiler_error(
        'dbt var leaver_grace_days must be a number of days (0 or more), not ' ~ grace) }}
{%- endif %}
{%- set grace_micros = (grace | string | trim | float) * 86400 * 1000000 %}

-- A termination dated after the build is not a leaver yet (HR exports list scheduled
-- leavers): listing it would call still_active an account that rightly still works.
with leavers as (
    select email, email_key, terminated_at
    from {{ ref('stg_hr__roster') }}
    where terminated_at is not null and terminated_at <= {{ evidence_build_time() }}
),

versions as (
    select system, tenant_id, account_id, email, valid_from, is_deleted
    from {{ ref('int_account_versions') }}
),

-- Every account any of whose versions carried the email.
accounts as (
    select distinct system, tenant_id, account_id, lower(trim(email)) as email_key
    from versions
    where email is not null
),

-- The start of the account's latest version that lists it (not a removal).
present as (
    select system, tenant_id, account_id, max(valid_from) as present_from
    from versions
    where not is_deleted
    group by system, tenant_id, account_id
),

-- The first removal after that: when it went and has not come back since.
removals as (
    select v.system, v.tenant_id, v.account_id, min(v.valid_from) as removed_at
    from versions as v
    left join present as p
        on p.system = v.system and p.tenant_id = v.tenant_id and p.account_id = v.account_id
    where v.is_deleted and (p.present_from is null or v.valid_from > p.present_from)
    group by v.system, v.tenant_id, v.account_id
),

matched as (
    select
        l.email,
        l.terminated_at,
        a.system,
        a.tenant_id,
        a.account_id,
        r.status,
        case when r.status = 'removed' then rm.removed_at end as removed_at
    from leavers as l
    inner join accounts as a on a.email_key = l.email_key
    inner join {{ ref('access_review') }} as r
        on r.system = a.system and r.tenant_id = a.tenant_id and r.account_id = a.account_id
    left join removals as rm
        on rm.system = a.system and rm.tenant_id = a.tenant_id and rm.account_id = a.account_id
),

timed as (
    select
        *,
        {{ epoch_micros('removed_at') }} - {{ epoch_micros('terminated_at') }} as micros
    from matched
)

select
    cast(email as text) as email,
    cast(terminated_at as timestamp) as terminated_at,
    cast(system as text) as system,
    cast(tenant_id as text) as tenant_id,
    cast(account_id as text) as account_id,
    cast(status as text) as status,
    cast(removed_at as timestamp) as removed_at,
    cast(round(cast(micros as numeric(20, 0)) / 86400000000, 2) as numeric(12, 2))
        as days_to_removal,
    cast(case
        when removed_at is null then 'still_active'
        when micros <= {{ grace_micros }} then 'removed_in_time'
        else 'removed_late'
    end as text) as outcome
from timed
