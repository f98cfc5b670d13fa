-- What changed in connection, destination, source and warehouse settings between runs: one
-- row per object added or removed, and per changed field (before/after as text; redacted
-- values stay redacted). Schema config counts too: a table or column newly enabled, hashed.
-- A child that comes or goes with its parent is listed once, as the parent.
{% set parts = [
    config_diff('snap_segment__sources', 'segment', 'source', 'v.source_id', 'v.name',
        ['name', 'enabled', 'settings']),
    config_diff('snap_segment__destinations', 'segment', 'destination', 'v.destination_id', 'v.name',
        ['name', 'enabled', 'source_id', 'settings']),
    config_diff('snap_segment__warehouses', 'segment', 'warehouse', 'v.warehouse_id', 'v.name',
        ['name', 'enabled', 'settings']),
    config_diff('snap_segment__source_settings', 'segment', 'source_settings', 'v.source_id',
        'v.source_id', ['settings'],
        parent=('snap_segment__sources', "v.tenant_id || '|' || v.source_id")),
    config_diff('snap_segment__destination_subscriptions', 'segment', 'subscription',
        'v.subscription_id', 'v.name', ['name', 'enabled', 'trigger', 'settings'],
        parent=('snap_segment__destinations', "v.tenant_id || '|' || v.destination_id")),
    config_diff('snap_fivetran__connections', 'fivetran', 'connection', 'v.connection_id',
        'v.schema_name', ['group_id', 'paused', 'schedule_type', 'sync_frequency',
        'daily_sync_time', 'setup_state', 'networking_method', 'config']),
    config_diff('snap_fivetran__destinations', 'fivetran', 'destination', 'v.destination_id',
        'v.destination_id', ['region', 'setup_status', 'time_zone_offset', 'networking_method',
        'config']),
    config_diff('snap_fivetran__connection_tables', 'fivetran', 'table',
        "v.connection_id || ':' || v.schema_name || '.' || v.table_name",
        "v.schema_name || '.' || v.table_name", ['enabled', 'sync_mode'],
        parent=('snap_fivetran__connections', "v.tenant_id || '|' || v.connection_id")),
    config_diff('snap_fivetran__connection_columns', 'fivetran', 'column',
        "v.connection_id || ':' || v.schema_name || '.' || v.table_name || '.' || v.column_name",
        "v.schema_name || '.' || v.table_name || '.' || v.column_name", ['enabled', 'hashed'],
        parent=('snap_fivetran__connection_tables',
            "v.tenant_id || '|' || v.connection_id || '|' || v.schema_name || '|' || v.table_name")),
] %}
with changes as (
    {% for part in parts %}
    select * from {{ part }} as c{{ loop.index }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    md5({{ evidence_key(['c.seen_at', 'c.system', 'c.tenant_id', 'c.object_type', 'c.object_id', 'c.change', 'c.field']) }})
        as change_id,
    c.*
from changes as c
inner join {{ ref('int_tenant_baselines') }} as b
    on b.system = c.system and b.tenant_id = c.tenant_id
where c.seen_at > b.baseline_at
