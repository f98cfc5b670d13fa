{#- Access as it stood at `as_of` (SQL timestamp): per account, its latest version at or
    before that moment. A removed account keeps its last known roles and shows status
    removed. first_seen_at is the extraction that first listed the account, last_seen_at the
    last one that listed it, capped at as_of. -#}
{% macro access_state(as_of) -%}
with versions as (
    select * from {{ ref('int_account_versions') }}
    where valid_from <= {{ as_of }}
),

ranked as (
    select
        *,
        row_number() over (
            partition by system, tenant_id, account_id order by valid_from desc
        ) as rn
    from versions
),

first_seen as (
    select system, tenant_id, account_id, min(extracted_at) as first_seen_at
    from versions
    where not is_deleted
    group by system, tenant_id, account_id
),

extracted as (
    select 'segment' as system, tenant_id, user_id as account_id, extracted_at
    from {{ ref('stg_segment__users') }}
    union all
    select 'segment', tenant_id, email, extracted_at from {{ ref('stg_segment__invites') }}
    union all
    select 'fivetran', tenant_id, user_id, extracted_at from {{ ref('stg_fivetran__users') }}
)

select
    r.access_key,
    r.system,
    r.tenant_id,
    r.account_id,
    r.email,
    r.name,
    r.roles,
    case when r.is_deleted then 'removed' else r.status end as status,
    r.is_privileged,
    r.created_at,
    r.last_login_at,
    f.first_seen_at,
    case
        when e.extracted_at is null then null
        when r.is_deleted and e.extracted_at > r.valid_from then r.valid_from
        when e.extracted_at > {{ as_of }} then {{ as_of }}
        else e.extracted_at
    end as last_seen_at
from ranked as r
left join first_seen as f
    on f.system = r.system and f.tenant_id = r.tenant_id and f.account_id = r.account_id
left join extracted as e
    on e.system = r.system and e.tenant_id = r.tenant_id and e.account_id = r.account_id
where r.rn = 1
{%- endmacro %}
