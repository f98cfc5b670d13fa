-- Tables in each Fivetran connection's schema config, enabled or not.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.connection_id', 's.schema_name', 's.table_name']) }} as evidence_key,
        s.connection_id as connection_id,
        s.schema_name as schema_name,
        s.table_name as table_name,
        s.enabled as enabled,
        s.sync_mode as sync_mode,
        s.name_in_destination as name_in_destination,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'connection_tables') }} as s
    {{ evidence_join('tap-fivetran', 'connection_tables', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['connection_id', 'schema_name', 'table_name', 'enabled', 'sync_mode', 'name_in_destination']) }} as row_hash
from typed
