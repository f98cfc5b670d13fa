-- Fivetran connections: redacted config, schedule, paused, setup status (sync state and times left out: they move every sync).
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as connection_id,
        s.group_id as group_id,
        s.service as service,
        s.schema as schema_name,
        s.paused as paused,
        s.schedule_type as schedule_type,
        cast(s.sync_frequency as integer) as sync_frequency,
        s.daily_sync_time as daily_sync_time,
        {{ json_get('s.status', 'setup_state') }} as setup_state,
        s.networking_method as networking_method,
        s.connected_by as connected_by,
        {{ ts('s.created_at') }} as created_at,
        s.config as config,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'connections') }} as s
    {{ evidence_join('tap-fivetran', 'connections', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['connection_id', 'group_id', 'service', 'schema_name', 'paused', 'schedule_type', 'sync_frequency', 'daily_sync_time', 'setup_state', 'networking_method', 'connected_by', 'created_at', 'config']) }} as row_hash
from typed
