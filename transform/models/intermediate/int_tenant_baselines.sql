-- The first evidence build that saw each tenant: what it found is the starting point, not a
-- change.
{% set parts = [
    ('segment', 'snap_segment__users'),
    ('segment', 'snap_segment__sources'),
    ('fivetran', 'snap_fivetran__users'),
    ('fivetran', 'snap_fivetran__groups'),
    ('fivetran', 'snap_fivetran__connections'),
] %}
select system, tenant_id, min(valid_from) as baseline_at
from (
    {% for system, snap in parts %}
    select '{{ system }}' as system, tenant_id, dbt_valid_from as valid_from from {{ ref(snap) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
) as seen
group by system, tenant_id
