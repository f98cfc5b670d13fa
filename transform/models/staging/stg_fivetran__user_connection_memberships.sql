-- Fivetran users' roles on connections.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.user_id', 's.connection_id']) }} as evidence_key,
        s.user_id as user_id,
        s.connection_id as connection_id,
        s.role as role,
        {{ ts('s.created_at') }} as created_at,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'user_connection_memberships') }} as s
    {{ evidence_join('tap-fivetran', 'user_connection_memberships', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['user_id', 'connection_id', 'role', 'created_at']) }} as row_hash
from typed
