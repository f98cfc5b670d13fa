-- Which Segment sources load into which warehouses.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's."sourceId"', 's.id']) }} as evidence_key,
        s."sourceId" as source_id,
        s.id as warehouse_id,
        s.enabled as enabled,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'source_connected_warehouses') }} as s
    {{ evidence_join('tap-segment', 'source_connected_warehouses', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['source_id', 'warehouse_id', 'enabled']) }} as row_hash
from typed
