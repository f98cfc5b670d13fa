-- Fivetran destinations: redacted config, region, setup status.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as destination_id,
        s.group_id as group_id,
        s.service as service,
        s.region as region,
        s.setup_status as setup_status,
        s.time_zone_offset as time_zone_offset,
        s.networking_method as networking_method,
        s.config as config,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'destinations') }} as s
    {{ evidence_join('tap-fivetran', 'destinations', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['destination_id', 'group_id', 'service', 'region', 'setup_status', 'time_zone_offset', 'networking_method', 'config']) }} as row_hash
from typed
