-- Members of Segment user groups.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's."userGroupId"', 's.id']) }} as evidence_key,
        s."userGroupId" as user_group_id,
        s.id as user_id,
        s.email as email,
        s.name as name,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'user_group_members') }} as s
    {{ evidence_join('tap-segment', 'user_group_members', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['user_group_id', 'user_id', 'email', 'name']) }} as row_hash
from typed
