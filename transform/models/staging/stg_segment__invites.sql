-- Pending Segment workspace invites (email only, as the API tells).
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.email']) }} as evidence_key,
        s.email as email,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'invites') }} as s
    {{ evidence_join('tap-segment', 'invites', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['email']) }} as row_hash
from typed
