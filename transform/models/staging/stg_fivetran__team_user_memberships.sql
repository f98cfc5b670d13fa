-- Fivetran team members.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.team_id', 's.user_id']) }} as evidence_key,
        s.team_id as team_id,
        s.user_id as user_id,
        s.role as role,
        {{ ts('s.created_at') }} as created_at,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'team_user_memberships') }} as s
    {{ evidence_join('tap-fivetran', 'team_user_memberships', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['team_id', 'user_id', 'role', 'created_at']) }} as row_hash
from typed
