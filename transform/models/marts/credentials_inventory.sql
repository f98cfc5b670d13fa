-- Credentials that can reach the control planes: Fivetran system keys, the Fivetran user whose
-- API key the tap ran with, Segment credentials. Created, last used and expiry where the API
-- tells; age and unused days at build time; removed once the manifest says they are gone.
with build as (
    select {{ evidence_build_time() }} as built_at
),

first_seen as (
    {% for snap in ['snap_fivetran__system_keys', 'snap_segment__credentials'] %}
    select evidence_key, min(extracted_at) as first_seen_at
    from {{ ref(snap) }}
    where dbt_is_deleted = 'False'
    group by evidence_key
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

last_fivetran_run as (
    select max(started_at) as started_at
    from {{ ref('stg_sync_runs') }}
    where tap = 'tap-fivetran'
),

credentials as (
    select
        k.evidence_key, 'fivetran' as system, k.tenant_id,
        'system_key:' || k.system_key_id as credential_id,
        k.name, 'system_key' as kind, cast(null as text) as owner,
        k.created_at, k.last_used_at, k.expires_at, k.is_current, k.extracted_at
    from {{ ref('stg_fivetran__system_keys') }} as k

    union all

    select
        a.evidence_key, 'fivetran', a.tenant_id,
        'user_api_key:' || a.user_id,
        coalesce(u.email, a.user_id), 'user_api_key', u.email,
        cast(null as timestamp), r.started_at, cast(null as timestamp),
        a.is_current, a.extracted_at
    from {{ ref('stg_fivetran__accounts') }} as a
    cross join last_fivetran_run as r
    left join {{ ref('stg_fivetran__users') }} as u
        on u.tenant_id = a.tenant_id and u.user_id = a.user_id
    where a.user_id is not null and a.user_id <> ''

    union all

    select
        c.evidence_key, 'segment', c.tenant_id,
        'credential:' || c.credential_id,
        c.name, 'credential', cast(null as text),
        c.created_at, cast(null as timestamp), cast(null as timestamp),
        c.is_current, c.extracted_at
    from {{ ref('stg_segment__credentials') }} as c
)

select
    c.system || '|' || c.tenant_id || '|' || c.credential_id as credential_key,
    c.system,
    c.tenant_id,
    c.credential_id,
    c.name,
    c.kind,
    c.owner,
    case
        when not c.is_current then 'removed'
        when c.expires_at is not null and c.expires_at <= b.built_at then 'expired'
        else 'active'
    end as status,
    c.created_at,
    c.last_used_at,
    c.expires_at,
    cast({{ days_between('c.created_at', 'b.built_at') }} as integer) as age_days,
    cast({{ days_between('c.last_used_at', 'b.built_at') }} as integer) as unused_days,
    f.first_seen_at,
    c.extracted_at as last_seen_at
from credentials as c
cross join build as b
left join first_seen as f on f.evidence_key = c.evidence_key
