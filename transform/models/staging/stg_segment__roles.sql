-- Segment roles.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as role_id,
        s.name as name,
        s.description as description,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'roles') }} as s
    {{ evidence_join('tap-segment', 'roles', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['role_id', 'name', 'description']) }} as row_hash
from typed
