-- Versions of the resources memberships point at, to tell a revoked membership from one that
-- went with its resource (reported once, as the resource's removal).
{% set parts = [
    ('segment', 'snap_segment__user_groups', "'user_group:' || r.user_group_id"),
    ('fivetran', 'snap_fivetran__groups', "'group:' || r.group_id"),
    ('fivetran', 'snap_fivetran__connections', "'connection:' || r.connection_id"),
    ('fivetran', 'snap_fivetran__teams', "'team:' || r.team_id"),
] %}
{% for system, snap, resource in parts %}
select
    '{{ system }}' as system,
    r.tenant_id,
    {{ resource }} as resource,
    r.dbt_valid_from as valid_from,
    r.dbt_valid_to as valid_to,
    (r.dbt_is_deleted = 'True') as is_deleted
from {{ ref(snap) }} as r
{% if not loop.last %}union all{% endif %}
{% endfor %}
