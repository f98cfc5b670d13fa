-- Segment destinations and the source each reads.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as destination_id,
        s."sourceId" as source_id,
        s.name as name,
        s.enabled as enabled,
        {{ json_get('s.metadata', 'name') }} as destination_type,
        s.settings as settings,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'destinations') }} as s
    {{ evidence_join('tap-segment', 'destinations', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['destination_id', 'source_id', 'name', 'enabled', 'destination_type', 'settings']) }} as row_hash
from typed
