-- Segment user groups and the permissions they grant.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as user_group_id,
        s.name as name,
        cast(s."memberCount" as integer) as member_count,
        s.permissions as permissions,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'user_groups') }} as s
    {{ evidence_join('tap-segment', 'user_groups', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['user_group_id', 'name', 'permissions']) }} as row_hash
from typed
