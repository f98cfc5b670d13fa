-- Segment users with their permissions (roles on resources).
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as user_id,
        s.email as email,
        s.name as name,
        s.permissions as permissions,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'users') }} as s
    {{ evidence_join('tap-segment', 'users', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['user_id', 'email', 'name', 'permissions']) }} as row_hash
from typed
