-- What each account's access applies to, as intervals: one row per grant (a role on a named
-- resource) and the builds [valid_from, valid_to) that saw it. Segment: each permission's role
-- on each resource (`Source Admin on source "Web app"`, `Workspace Owner on workspace`, a
-- label-narrowed role with its labels in brackets) and user-group memberships; Fivetran: the
-- account role, each group and connection membership's role and each team membership. A
-- resource shows its latest known name, quoted verbatim, or its id when no snapshot names it.
-- Resource memberships on their own carry the interval of their own snapshot versions.
with named as (
    {% set parts = [
        ('segment', 'source', 'snap_segment__sources', 'source_id', 'name'),
        ('segment', 'warehouse', 'snap_segment__warehouses', 'warehouse_id', 'name'),
        ('segment', 'user_group', 'snap_segment__user_groups', 'user_group_id', 'name'),
        ('fivetran', 'group', 'snap_fivetran__groups', 'group_id', 'name'),
        ('fivetran', 'connection', 'snap_fivetran__connections', 'connection_id', 'schema_name'),
        ('fivetran', 'team', 'snap_fivetran__teams', 'team_id', 'name'),
    ] %}
    {% for system, kind, snap, id_column, name_column in parts %}
    select
        '{{ system }}' as system,
        tenant_id,
        '{{ kind }}' as resource_type,
        {{ id_column }} as resource_id,
        {{ name_column }} as name,
        dbt_valid_from as valid_from
    from {{ ref(snap) }}
    where {{ name_column }} is not null
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

names as (
    select system, tenant_id, resource_type, resource_id, name
    from (
        select
            *,
            row_number() over (
                partition by system, tenant_id, resource_type, resource_id
                order by valid_from desc
            ) as rn
        from named
    ) as ranked
    where rn = 1
),

memberships as (
    select
        m.system,
        m.tenant_id,
        m.account_id,
        m.roles as role,
        split_part(m.resource, ':', 1) as resource_type,
        substr(m.resource, length(split_part(m.resource, ':', 1)) + 2) as resource_id,
        m.valid_from,
        m.valid_to
    from {{ ref('int_membership_versions') }} as m
    where not m.is_deleted
),

grants as (
    select
        'segment' as system,
        e.tenant_id,
        e.account_id,
        e.role
            || ' on '
            || case
                when e.resource_type = 'workspace' then 'workspace'
                when n.name is not null then e.resource_type || ' "' || n.name || '"'
                when e.resource_id is not null then e.resource_type || ' ' || e.resource_id
                else e.resource_type
            end
            || coalesce(' [' || e.labels || ']', '') as grant_text,
        e.valid_from,
        e.valid_to
    from {{ ref('int_segment_grant_entries') }} as e
    left join names as n
        on n.system = 'segment'
        and n.tenant_id = e.tenant_id
        and n.resource_type = e.resource_type
        and n.resource_id = e.resource_id

    union all

    select
        'fivetran',
        u.tenant_id,
        u.user_id,
        u.role || ' on account',
        u.dbt_valid_from,
        u.dbt_valid_to
    from {{ ref('snap_fivetran__users') }} as u
    where u.dbt_is_deleted = 'False' and u.role is not null

    union all

    select
        m.system,
        m.tenant_id,
        m.account_id,
        coalesce(m.role, 'member')
            || case
                when m.resource_type = 'team' then ' in '
                when m.resource_type = 'user_group' then ' of '
                else ' on '
            end
            || replace(m.resource_type, '_', ' ')
            || case
                when n.name is not null then ' "' || n.name || '"'
                else ' ' || m.resource_id
            end,
        m.valid_from,
        m.valid_to
    from memberships as m
    left join names as n
        on n.system = m.system
        and n.tenant_id = m.tenant_id
        and n.resource_type = m.resource_type
        and n.resource_id = m.resource_id
)

select * from grants
where grant_text is not null
