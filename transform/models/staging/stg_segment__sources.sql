-- Segment sources (settings redacted by the tap; write keys left out).
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as source_id,
        s.name as name,
        s.slug as slug,
        s.enabled as enabled,
        {{ json_get('s.metadata', 'name') }} as source_type,
        s.settings as settings,
        s.labels as labels,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'sources') }} as s
    {{ evidence_join('tap-segment', 'sources', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['source_id', 'name', 'slug', 'enabled', 'source_type', 'settings', 'labels']) }} as row_hash
from typed
