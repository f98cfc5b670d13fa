-- Segment warehouses.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as warehouse_id,
        coalesce({{ json_get('s.settings', 'name') }}, {{ json_get('s.metadata', 'name') }}) as name,
        s.enabled as enabled,
        {{ json_get('s.metadata', 'name') }} as warehouse_type,
        s.settings as settings,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'warehouses') }} as s
    {{ evidence_join('tap-segment', 'warehouses', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['warehouse_id', 'name', 'enabled', 'warehouse_type', 'settings']) }} as row_hash
from typed
