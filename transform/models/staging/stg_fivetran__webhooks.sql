-- Fivetran webhooks (secret left out).
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.id']) }} as evidence_key,
        s.id as webhook_id,
        s.type as webhook_type,
        s.group_id as group_id,
        s.url as url,
        s.events as events,
        s.active as active,
        {{ ts('s.created_at') }} as created_at,
        s.created_by as created_by,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'webhooks') }} as s
    {{ evidence_join('tap-fivetran', 'webhooks', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['webhook_id', 'webhook_type', 'group_id', 'url', 'events', 'active', 'created_at', 'created_by']) }} as row_hash
from typed
