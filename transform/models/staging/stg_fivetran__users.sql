-- Fivetran users with their account role.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as user_id,
        s.email as email,
        s.given_name as given_name,
        s.family_name as family_name,
        s.role as role,
        s.active as active,
        s.invited as invited,
        s.verified as verified,
        {{ ts('s.created_at') }} as created_at,
        {{ ts('s.logged_in_at') }} as logged_in_at,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'users') }} as s
    {{ evidence_join('tap-fivetran', 'users', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['user_id', 'email', 'given_name', 'family_name', 'role', 'active', 'invited', 'verified', 'created_at']) }} as row_hash
from typed
