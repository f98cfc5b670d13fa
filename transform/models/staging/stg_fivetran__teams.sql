-- Fivetran teams and their account role.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as team_id,
        s.name as name,
        s.description as description,
        s.role as role,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'teams') }} as s
    {{ evidence_join('tap-fivetran', 'teams', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['team_id', 'name', 'description', 'role']) }} as row_hash
from typed
