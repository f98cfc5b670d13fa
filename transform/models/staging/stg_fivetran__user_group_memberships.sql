-- Fivetran users' roles on groups (destinations).
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.user_id', 's.group_id']) }} as evidence_key,
        s.user_id as user_id,
        s.group_id as group_id,
        s.role as role,
        {{ ts('s.created_at') }} as created_at,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'user_group_memberships') }} as s
    {{ evidence_join('tap-fivetran', 'user_group_memberships', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['user_id', 'group_id', 'role', 'created_at']) }} as row_hash
from typed
