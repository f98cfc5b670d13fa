-- Fivetran roles.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.name']) }} as evidence_key,
        s.name as role_name,
        s.description as description,
        s.scope as scope,
        s.is_custom as is_custom,
        s.is_deprecated as is_deprecated,
        s.replacement_role_name as replacement_role_name,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'roles') }} as s
    {{ evidence_join('tap-fivetran', 'roles', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['role_name', 'description', 'scope', 'is_custom', 'is_deprecated', 'replacement_role_name']) }} as row_hash
from typed
