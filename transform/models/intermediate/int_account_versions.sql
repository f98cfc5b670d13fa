-- Every version of every account the snapshots hold: Segment users and pending invites,
-- Fivetran users. One row per snapshot version; a removal is its own version (is_deleted).
with segment_roles as (
    select version_id, string_agg(role, ', ' order by role) as roles
    from (
        select distinct
            u.dbt_scd_id as version_id,
            {{ json_get('p.value', 'roleName') }} as role
        from {{ ref('snap_segment__users') }} as u
        {{ json_elements('u.permissions', 'p') }}
    ) as r
    where role is not null
    group by version_id
),

versions as (
    select
        u.dbt_scd_id as version_id,
        'segment' as system,
        u.tenant_id,
        u.user_id as account_id,
        u.email,
        u.name,
        r.roles,
        'active' as status,
        cast(null as timestamp) as created_at,
        cast(null as timestamp) as last_login_at,
        'workspace:' || u.tenant_id as account_resource,
        u.extracted_at,
        u.dbt_valid_from as valid_from,
        u.dbt_valid_to as valid_to,
        (u.dbt_is_deleted = 'True') as is_deleted
    from {{ ref('snap_segment__users') }} as u
    left join segment_roles as r on r.version_id = u.dbt_scd_id

    union all

    select
        i.dbt_scd_id,
        'segment',
        i.tenant_id,
        i.email,
        i.email,
        cast(null as text),
        cast(null as text),
        'invited',
        cast(null as timestamp),
        cast(null as timestamp),
        'workspace:' || i.tenant_id,
        i.extracted_at,
        i.dbt_valid_from,
        i.dbt_valid_to,
        (i.dbt_is_deleted = 'True')
    from {{ ref('snap_segment__invites') }} as i

    union all

    select
        u.dbt_scd_id,
        'fivetran',
        u.tenant_id,
        u.user_id,
        u.email,
        trim(coalesce(u.given_name, '') || ' ' || coalesce(u.family_name, '')),
        u.role,
        case
            when u.invited then 'invited'
            when u.active = false then 'inactive'
            else 'active'
        end,
        u.created_at,
        u.logged_in_at,
        'account:' || u.tenant_id,
        u.extracted_at,
        u.dbt_valid_from,
        u.dbt_valid_to,
        (u.dbt_is_deleted = 'True')
    from {{ ref('snap_fivetran__users') }} as u
)

select
    *,
    system || '|' || tenant_id || '|' || account_id as access_key,
    (
        lower(coalesce(roles, '')) like '%owner%'
        or lower(coalesce(roles, '')) like '%admin%'
    ) as is_privileged
from versions
