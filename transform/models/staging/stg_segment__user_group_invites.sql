-- Pending invites into Segment user groups.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's."userGroupId"', 's.email']) }} as evidence_key,
        s."userGroupId" as user_group_id,
        s.email as email,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'user_group_invites') }} as s
    {{ evidence_join('tap-segment', 'user_group_invites', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['user_group_id', 'email']) }} as row_hash
from typed
