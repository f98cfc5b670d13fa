-- Segment destination subscriptions (actions).
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as subscription_id,
        s."destinationId" as destination_id,
        s.name as name,
        s.enabled as enabled,
        s."actionId" as action_id,
        s."actionSlug" as action_slug,
        s.trigger as trigger,
        s."modelId" as model_id,
        s.settings as settings,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'destination_subscriptions') }} as s
    {{ evidence_join('tap-segment', 'destination_subscriptions', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['subscription_id', 'destination_id', 'name', 'enabled', 'action_id', 'action_slug', 'trigger', 'model_id', 'settings']) }} as row_hash
from typed
