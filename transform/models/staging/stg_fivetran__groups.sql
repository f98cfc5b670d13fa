-- Fivetran groups (one destination each).
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as group_id,
        s.name as name,
        {{ ts('s.created_at') }} as created_at,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'groups') }} as s
    {{ evidence_join('tap-fivetran', 'groups', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['group_id', 'name', 'created_at']) }} as row_hash
from typed
