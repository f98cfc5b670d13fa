-- Segment permissions per user version: one row per resource with the roles held on it
-- (a user's permissions list roles, each on resources).
select
    version_id,
    tenant_id,
    account_id,
    resource,
    string_agg(role, ', ' order by role) as roles
from (
    select distinct
        u.dbt_scd_id as version_id,
        u.tenant_id,
        u.user_id as account_id,
        lower(coalesce({{ json_get('r.value', 'type') }}, 'resource'))
            || ':' || coalesce({{ json_get('r.value', 'id') }}, '') as resource,
        {{ json_get('p.value', 'roleName') }} as role
    from {{ ref('snap_segment__users') }} as u
    {{ json_elements('u.permissions', 'p') }}
    {{ json_elements(json_obj('p.value', 'resources'), 'r') }}
    where u.dbt_is_deleted = 'False'
) as e
where role is not null
group by version_id, tenant_id, account_id, resource
