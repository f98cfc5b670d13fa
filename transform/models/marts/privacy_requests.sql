-- Segment deletion and suppression requests (GDPR, CCPA) with how long each has been open. The
-- API lists a request for 90 days only; the snapshot keeps it after, marked no longer listed
-- (still_listed false), so the answer to a request outlives the API's window. Overdue: not
-- finished and older than the dbt var privacy_deadline_days (default 30: GDPR's month). The
-- subjects themselves (the people's ids) are never carried here, only how many there are.
{% set deadline = var('privacy_deadline_days', 30) | string | trim %}
{% if not modules.re.fullmatch('[0-9]+', deadline) %}
    {{ exceptions.raise_compiler_error(
        "var privacy_deadline_days must be a whole number of days, not '" ~ deadline ~ "'") }}
{% endif %}
with build as (
    select {{ evidence_build_time() }} as built_at
),

ranked as (
    select
        *,
        row_number() over (partition by evidence_key order by dbt_valid_from desc) as rn
    from {{ ref('snap_segment__regulations') }}
),

first_seen as (
    select evidence_key, min(extracted_at) as first_seen_at
    from {{ ref('snap_segment__regulations') }}
    where dbt_is_deleted = 'False'
    group by evidence_key
),

-- The raw row's extraction time is the last run that listed the request (an upsert moves it;
-- a request no longer listed keeps the time it was last seen).
listed as (
    select evidence_key, max(extracted_at) as extracted_at
    from {{ ref('stg_segment__regulations') }}
    group by evidence_key
)

select
    'segment|' || r.tenant_id || '|' || r.regulation_id as request_key,
    'segment' as system,
    r.tenant_id,
    r.regulation_id,
    r.regulation_type as type,
    r.subject_type,
    r.subject_count,
    r.created_at,
    r.finished_at,
    r.status,
    cast({{ days_between('r.created_at', 'coalesce(r.finished_at, b.built_at)') }} as integer)
        as age_days,
    (
        r.finished_at is null
        and {{ days_between('r.created_at', 'b.built_at') }} > {{ deadline }}
    ) as overdue,
    (r.dbt_is_deleted = 'False') as still_listed,
    f.first_seen_at,
    coalesce(l.extracted_at, r.extracted_at) as last_seen_at
from ranked as r
cross join build as b
left join first_seen as f on f.evidence_key = r.evidence_key
left join listed as l on l.evidence_key = r.evidence_key
where r.rn = 1
