-- Fivetran teams' roles on groups.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.team_id', 's.group_id']) }} as evidence_key,
        s.team_id as team_id,
        s.group_id as group_id,
        s.role as role,
        {{ ts('s.created_at') }} as created_at,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'team_group_memberships') }} as s
    {{ evidence_join('tap-fivetran', 'team_group_memberships', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['team_id', 'group_id', 'role', 'created_at']) }} as row_hash
from typed
