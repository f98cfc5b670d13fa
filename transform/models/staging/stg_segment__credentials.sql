-- Segment credentials (settings redacted by the tap).
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as credential_id,
        s.name as name,
        {{ ts('s."createdAt"') }} as created_at,
        {{ ts('s."updatedAt"') }} as updated_at,
        s.settings as settings,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'credentials') }} as s
    {{ evidence_join('tap-segment', 'credentials', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['credential_id', 'name', 'created_at', 'updated_at', 'settings']) }} as row_hash
from typed
