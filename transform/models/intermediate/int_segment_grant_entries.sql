-- Segment grants per user version: each role a permission gives, on each of its resources
-- (type and id), with the labels that narrow a workspace-level role (key:value, in order).
-- Removal versions hold no grant: an account's last grants are those of the version before.
with entries as (
    select distinct
        u.dbt_scd_id as version_id,
        u.tenant_id,
        u.user_id as account_id,
        {{ json_get('p.value', 'roleName') }} as role,
        lower(coalesce({{ json_get('r.value', 'type') }}, 'resource')) as resource_type,
        {{ json_get('r.value', 'id') }} as resource_id,
        u.dbt_valid_from as valid_from,
        u.dbt_valid_to as valid_to
    from {{ ref('snap_segment__users') }} as u
    {{ json_elements('u.permissions', 'p') }}
    {{ json_elements(json_obj('p.value', 'resources'), 'r') }}
    where u.dbt_is_deleted = 'False'
),

labels as (
    select
        version_id,
        role,
        resource_type,
        resource_id,
        string_agg(label, ', ' order by label) as labels
    from (
        select distinct
            u.dbt_scd_id as version_id,
            {{ json_get('p.value', 'roleName') }} as role,
            lower(coalesce({{ json_get('r.value', 'type') }}, 'resource')) as resource_type,
            {{ json_get('r.value', 'id') }} as resource_id,
            coalesce({{ json_get('l.value', 'key') }}, '')
                || ':' || coalesce({{ json_get('l.value', 'value') }}, '') as label
        from {{ ref('snap_segment__users') }} as u
        {{ json_elements('u.permissions', 'p') }}
        {{ json_elements(json_obj('p.value', 'resources'), 'r') }}
        {{ json_elements(json_obj('r.value', 'labels'), 'l') }}
        where u.dbt_is_deleted = 'False'
    ) as each_label
    group by version_id, role, resource_type, resource_id
)

select
    e.version_id,
    e.tenant_id,
    e.account_id,
    e.role,
    e.resource_type,
    e.resource_id,
    l.labels,
    e.valid_from,
    e.valid_to
from entries as e
left join labels as l
    on l.version_id = e.version_id
    and l.role = e.role
    and l.resource_type = e.resource_type
    and coalesce(l.resource_id, '') = coalesce(e.resource_id, '')
where e.role is not null
