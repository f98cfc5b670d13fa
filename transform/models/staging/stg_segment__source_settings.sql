-- Segment source settings (what each source accepts and where it forwards), one object per source.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's."sourceId"']) }} as evidence_key,
        s."sourceId" as source_id,
        s.settings as settings,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'source_settings') }} as s
    {{ evidence_join('tap-segment', 'source_settings', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['source_id', 'settings']) }} as row_hash
from typed
