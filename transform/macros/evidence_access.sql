{#- Access as it stood at `as_of` (SQL timestamp): per account, its latest version at or
    before that moment. A removed account keeps its last known roles and grants and shows
    status removed. first_seen_at is the extraction that first listed the account, last_seen_at
    the last one that listed it, capped at as_of. -#}
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

latest as (
    select * from ranked where rn = 1
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
),

{#- A live account's grants at as_of; a removed one's as they stood when it went. -#}
grants as (
    {{ grants_of('latest', "case when l.is_deleted then l.valid_from end", as_of) }}
),

activity as (
    {{ segment_activity('latest', as_of) }}
)

select
    r.access_key,
    r.system,
    r.tenant_id,
    r.account_id,
    r.email,
    r.name,
    r.roles,
    g.grants,
    case when r.is_deleted then 'removed' else r.status end as status,
    r.is_privileged,
    r.created_at,
    r.last_login_at,
    a.last_activity_at,
    f.first_seen_at,
    case
        when e.extracted_at is null then null
        when r.is_deleted and e.extracted_at > r.valid_from then r.valid_from
        when e.extracted_at > {{ as_of }} then {{ as_of }}
        else e.extracted_at
    end as last_seen_at
from latest as r
left join first_seen as f
    on f.system = r.system and f.tenant_id = r.tenant_id and f.account_id = r.account_id
left join extracted as e
    on e.system = r.system and e.tenant_id = r.tenant_id and e.account_id = r.account_id
left join grants as g on g.version_id = r.version_id
left join activity as a on a.version_id = r.version_id
{%- endmacro %}

{#- Per account version of `versions` (a CTE of int_account_versions rows, as `l`): its grants
    (int_grant_versions) as one text, each grant once, in byte order, '; ' between. `ended`
    is the SQL moment the version's access ended (its removal, or the next version), or null
    for a version still in force: grants held just before that moment, else those held at
    `moment`. -#}
{% macro grants_of(versions, ended, moment) -%}
    select
        version_id,
        string_agg(grant_text, '; ' order by {{ byte_order('grant_text') }}) as grants
    from (
        select distinct l.version_id, g.grant_text
        from {{ versions }} as l
        inner join {{ ref('int_grant_versions') }} as g
            on g.system = l.system
            and g.tenant_id = l.tenant_id
            and g.account_id = l.account_id
        where
            case
                when {{ ended }} is not null then
                    g.valid_from < {{ ended }}
                    and (g.valid_to is null or g.valid_to >= {{ ended }})
                else
                    g.valid_from <= {{ moment }}
                    and (g.valid_to is null or g.valid_to > {{ moment }})
            end
    ) as held
    group by version_id
{%- endmacro %}

{#- Per Segment user version of `versions` (as `l`): its latest audit event as actor at or
    before `until` (a SQL timestamp; per row or one for all). The audit trail names who acted
    by `actorEmail` (the user's email, compared case-insensitively) and `actor` (a user or an
    API token); either one matching the account counts. Pending invites have not acted; Fivetran
    has no audit trail here (its users carry their last login instead). -#}
{% macro segment_activity(versions, until) -%}
    select version_id, max(occurred_at) as last_activity_at
    from (
        select l.version_id, e.occurred_at
        from {{ versions }} as l
        inner join {{ ref('stg_segment__audit_events') }} as e
            on e.tenant_id = l.tenant_id
            and e.actor_email_key = lower(trim(l.email))
        where l.system = 'segment' and l.status <> 'invited' and e.occurred_at <= {{ until }}
        union all
        select l.version_id, e.occurred_at
        from {{ versions }} as l
        inner join {{ ref('stg_segment__audit_events') }} as e
            on e.tenant_id = l.tenant_id
            and e.actor = l.account_id
        where l.system = 'segment' and l.status <> 'invited' and e.occurred_at <= {{ until }}
    ) as acted
    group by version_id
{%- endmacro %}

{#- Text in byte order whatever the database's collation (PostgreSQL sorts by its locale,
    DuckDB by bytes), so a list reads the same on both. -#}
{% macro byte_order(expr) -%}
    {{ return(adapter.dispatch('byte_order')(expr)) }}
{%- endmacro %}

{% macro default__byte_order(expr) -%}
    {{ expr }}
{%- endmacro %}

{% macro postgres__byte_order(expr) -%}
    ({{ expr }}) collate "C"
{%- endmacro %}
