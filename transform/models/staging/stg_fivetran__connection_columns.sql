-- Columns in each Fivetran connection's schema config: enabled, hashed.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.connection_id', 's.schema_name', 's.table_name', 's.column_name']) }} as evidence_key,
        s.connection_id as connection_id,
        s.schema_name as schema_name,
        s.table_name as table_name,
        s.column_name as column_name,
        s.enabled as enabled,
        s.hashed as hashed,
        s.is_primary_key as is_primary_key,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'connection_columns') }} as s
    {{ evidence_join('tap-fivetran', 'connection_columns', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['connection_id', 'schema_name', 'table_name', 'column_name', 'enabled', 'hashed', 'is_primary_key']) }} as row_hash
from typed
