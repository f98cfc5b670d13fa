-- Who gained or lost access, and when (seen_at: the evidence build that first saw it). One row
-- per change: an account granted, invited or removed (its memberships go with it, not listed
-- again); a role or a membership granted, revoked or changed on a resource that still exists
-- (a membership that goes with its resource is the resource's removal, in config_changes).
-- The first build of each tenant is the starting point, not a change.
{% set far = far_future() %}
with accounts as (
    select
        *,
        lag(version_id) over w as prev_version_id,
        lag(status) over w as prev_status,
        lag(roles) over w as prev_roles,
        lag(is_deleted) over w as prev_deleted
    from {{ ref('int_account_versions') }}
    window w as (partition by system, tenant_id, account_id order by valid_from)
),

latest_email as (
    select system, tenant_id, account_id, email
    from (
        select
            system, tenant_id, account_id, email,
            row_number() over (
                partition by system, tenant_id, account_id order by valid_from desc
            ) as rn
        from {{ ref('int_account_versions') }}
    ) as v
    where rn = 1
),

account_changes as (
    select
        valid_from as seen_at, system, tenant_id, account_id, account_resource as resource,
        case
            when prev_version_id is null or prev_deleted then
                case when status = 'invited' then 'invited' else 'granted' end
            when is_deleted then 'removed'
            when status = 'invited' then 'invited'
            when status = 'active' then 'granted'
            else 'revoked'
        end as change,
        case
            when prev_version_id is null or prev_deleted then null
            when is_deleted then coalesce(prev_roles, prev_status)
            else prev_status
        end as before,
        case
            when is_deleted then null
            when prev_version_id is null or prev_deleted then coalesce(roles, status)
            else status
        end as after
    from accounts
    where
        (prev_version_id is null and not is_deleted)
        or (prev_deleted and not is_deleted)
        or (is_deleted and not coalesce(prev_deleted, true))
        or (not is_deleted and not prev_deleted and status <> prev_status)

    union all

    -- Fivetran's account role lives on the user (Segment's roles are per resource, below).
    select
        valid_from, system, tenant_id, account_id, account_resource,
        'role_changed', prev_roles, roles
    from accounts
    where
        system = 'fivetran'
        and not is_deleted and not prev_deleted
        and roles is distinct from prev_roles
),

-- Segment permissions: compare the resources of consecutive versions of a user that exists
-- in both.
pairs as (
    select version_id, prev_version_id, valid_from, system, tenant_id, account_id
    from accounts
    where system = 'segment' and not is_deleted and not prev_deleted
),

now_entries as (
    select p.version_id, p.valid_from, p.tenant_id, p.account_id, e.resource, e.roles
    from pairs as p
    inner join {{ ref('int_segment_permission_entries') }} as e on e.version_id = p.version_id
),

prev_entries as (
    select p.version_id, p.valid_from, p.tenant_id, p.account_id, e.resource, e.roles
    from pairs as p
    inner join {{ ref('int_segment_permission_entries') }} as e
        on e.version_id = p.prev_version_id
),

permission_changes as (
    select
        coalesce(n.valid_from, o.valid_from) as seen_at,
        'segment' as system,
        coalesce(n.tenant_id, o.tenant_id) as tenant_id,
        coalesce(n.account_id, o.account_id) as account_id,
        coalesce(n.resource, o.resource) as resource,
        case
            when o.resource is null then 'granted'
            when n.resource is null then 'revoked'
            else 'role_changed'
        end as change,
        o.roles as before,
        n.roles as after
    from now_entries as n
    full outer join prev_entries as o
        on o.version_id = n.version_id and o.resource = n.resource
    where n.roles is distinct from o.roles
),

memberships as (
    select
        *,
        lag(version_id) over w as prev_version_id,
        lag(roles) over w as prev_roles,
        lag(is_deleted) over w as prev_deleted
    from {{ ref('int_membership_versions') }}
    window w as (partition by membership_key order by valid_from)
),

membership_changes as (
    select
        m.valid_from as seen_at, m.system, m.tenant_id, m.account_id, m.resource,
        case
            when m.prev_version_id is null or m.prev_deleted then 'granted'
            when m.is_deleted then 'revoked'
            else 'role_changed'
        end as change,
        case when m.prev_version_id is null or m.prev_deleted then null else m.prev_roles end
            as before,
        case when m.is_deleted then null else m.roles end as after
    from memberships as m
    where
        (
            -- granted to an account that already existed (a new account's memberships are
            -- part of its grant)
            (m.prev_version_id is null or m.prev_deleted)
            and not m.is_deleted
            and exists (
                select 1 from {{ ref('int_account_versions') }} as a
                where a.system = m.system and a.tenant_id = m.tenant_id
                    and a.account_id = m.account_id and not a.is_deleted
                    and a.valid_from < m.valid_from
                    and coalesce(a.valid_to, {{ far }}) >= m.valid_from
            )
        )
        or (
            -- revoked while both the account and the resource remain
            m.is_deleted and not coalesce(m.prev_deleted, true)
            and exists (
                select 1 from {{ ref('int_account_versions') }} as a
                where a.system = m.system and a.tenant_id = m.tenant_id
                    and a.account_id = m.account_id and not a.is_deleted
                    and a.valid_from <= m.valid_from
                    and coalesce(a.valid_to, {{ far }}) > m.valid_from
            )
            and exists (
                select 1 from {{ ref('int_resource_versions') }} as r
                where r.system = m.system and r.tenant_id = m.tenant_id
                    and r.resource = m.resource and not r.is_deleted
                    and r.valid_from <= m.valid_from
                    and coalesce(r.valid_to, {{ far }}) > m.valid_from
            )
        )
        or (not m.is_deleted and not m.prev_deleted and m.roles is distinct from m.prev_roles)
),

changes as (
    select * from account_changes
    union all
    select * from permission_changes
    union all
    select * from membership_changes
)

select
    md5({{ evidence_key(['c.seen_at', 'c.system', 'c.tenant_id', 'c.account_id', 'c.resource', 'c.change']) }})
        as change_id,
    c.system || '|' || c.tenant_id || '|' || c.account_id as access_key,
    c.seen_at,
    c.system,
    c.tenant_id,
    c.account_id,
    e.email,
    c.change,
    c.resource,
    c.before,
    c.after
from changes as c
inner join {{ ref('int_tenant_baselines') }} as b
    on b.system = c.system and b.tenant_id = c.tenant_id
left join latest_email as e
    on e.system = c.system and e.tenant_id = c.tenant_id and e.account_id = c.account_id
where c.seen_at > b.baseline_at
