-- Where Fivetran forwards its logs.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as log_service_id,
        s.service as service,
        s.enabled as enabled,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'log_services') }} as s
    {{ evidence_join('tap-fivetran', 'log_services', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['log_service_id', 'service', 'enabled']) }} as row_hash
from typed
