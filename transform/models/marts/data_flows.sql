-- Where customer data flows: Segment source -> destination and source -> warehouse, Fivetran
-- connection -> destination with the tables it has enabled. Removed edges stay, as removed.
with fivetran_tables as (
    select
        tenant_id,
        connection_id,
        string_agg(schema_name || '.' || table_name, ', ' order by schema_name, table_name)
            as tables_enabled,
        count(*) as tables_enabled_count
    from {{ ref('stg_fivetran__connection_tables') }}
    where is_current and enabled
    group by tenant_id, connection_id
),

first_seen as (
    {% for snap in [
        'snap_segment__destinations',
        'snap_segment__source_connected_warehouses',
        'snap_fivetran__connections',
    ] %}
    select evidence_key, min(extracted_at) as first_seen_at
    from {{ ref(snap) }}
    where dbt_is_deleted = 'False'
    group by evidence_key
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

flows as (
    select
        d.evidence_key, 'segment' as system, d.tenant_id,
        'source' as from_type, d.source_id as from_id, s.name as from_name,
        s.source_type as from_service,
        'destination' as to_type, d.destination_id as to_id, d.name as to_name,
        d.destination_type as to_service,
        d.enabled, d.is_current,
        cast(null as text) as tables_enabled, cast(null as integer) as tables_enabled_count,
        d.extracted_at
    from {{ ref('stg_segment__destinations') }} as d
    left join {{ ref('stg_segment__sources') }} as s
        on s.tenant_id = d.tenant_id and s.source_id = d.source_id

    union all

    select
        w.evidence_key, 'segment', w.tenant_id,
        'source', w.source_id, s.name, s.source_type,
        'warehouse', w.warehouse_id, h.name, h.warehouse_type,
        w.enabled, w.is_current,
        cast(null as text), cast(null as integer),
        w.extracted_at
    from {{ ref('stg_segment__source_connected_warehouses') }} as w
    left join {{ ref('stg_segment__sources') }} as s
        on s.tenant_id = w.tenant_id and s.source_id = w.source_id
    left join {{ ref('stg_segment__warehouses') }} as h
        on h.tenant_id = w.tenant_id and h.warehouse_id = w.warehouse_id

    union all

    select
        c.evidence_key, 'fivetran', c.tenant_id,
        'connection', c.connection_id, c.schema_name, c.service,
        'destination', c.group_id, g.name, d.service,
        not coalesce(c.paused, false), c.is_current,
        t.tables_enabled, coalesce(cast(t.tables_enabled_count as integer), 0),
        c.extracted_at
    from {{ ref('stg_fivetran__connections') }} as c
    left join {{ ref('stg_fivetran__groups') }} as g
        on g.tenant_id = c.tenant_id and g.group_id = c.group_id
    left join {{ ref('stg_fivetran__destinations') }} as d
        on d.tenant_id = c.tenant_id and d.destination_id = c.group_id
    left join fivetran_tables as t
        on t.tenant_id = c.tenant_id and t.connection_id = c.connection_id
)

select
    f.system || '|' || f.tenant_id || '|' || f.from_type || ':' || f.from_id
        || '->' || f.to_type || ':' || coalesce(f.to_id, '') as flow_id,
    f.system,
    f.tenant_id,
    f.from_type,
    f.from_id,
    f.from_name,
    f.from_service,
    f.to_type,
    f.to_id,
    f.to_name,
    f.to_service,
    f.enabled,
    case
        when not f.is_current then 'removed'
        when not coalesce(f.enabled, true) then 'disabled'
        else 'active'
    end as status,
    case when f.is_current then f.tables_enabled end as tables_enabled,
    case when f.is_current then f.tables_enabled_count end as tables_enabled_count,
    s.first_seen_at,
    f.extracted_at as last_seen_at
from flows as f
left join first_seen as s on s.evidence_key = f.evidence_key
