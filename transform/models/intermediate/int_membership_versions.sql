-- Memberships that grant an account access to a resource, every version: Segment user-group
-- members, Fivetran users on groups (destinations), on connections and in teams.
{% set parts = [
    ('segment', 'snap_segment__user_group_members', 'user_id', "'user_group:' || m.user_group_id", "'member'"),
    ('fivetran', 'snap_fivetran__user_group_memberships', 'user_id', "'group:' || m.group_id", 'm.role'),
    ('fivetran', 'snap_fivetran__user_connection_memberships', 'user_id', "'connection:' || m.connection_id", 'm.role'),
    ('fivetran', 'snap_fivetran__team_user_memberships', 'user_id', "'team:' || m.team_id", 'm.role'),
] %}
{% for system, snap, account, resource, role in parts %}
select
    m.dbt_scd_id as version_id,
    '{{ system }}' as system,
    m.tenant_id,
    m.{{ account }} as account_id,
    {{ resource }} as resource,
    cast({{ role }} as text) as roles,
    m.evidence_key as membership_key,
    m.dbt_valid_from as valid_from,
    m.dbt_valid_to as valid_to,
    (m.dbt_is_deleted = 'True') as is_deleted
from {{ ref(snap) }} as m
{% if not loop.last %}union all{% endif %}
{% endfor %}
