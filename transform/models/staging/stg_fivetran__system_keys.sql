-- Fivetran system keys (secret redacted by the tap, left out here); last use is kept out of the version hash.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as system_key_id,
        s.name as name,
        {{ ts('s.created_at') }} as created_at,
        {{ ts('s.updated_at') }} as updated_at,
        {{ ts('s.last_used_at') }} as last_used_at,
        {{ ts('s.expired_at') }} as expires_at,
        s.permissions as permissions,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'system_keys') }} as s
    {{ evidence_join('tap-fivetran', 'system_keys', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['system_key_id', 'name', 'created_at', 'expires_at', 'permissions']) }} as row_hash
from typed
