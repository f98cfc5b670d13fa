-- Segment tracking plans.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as tracking_plan_id,
        s.name as name,
        s.slug as slug,
        s.type as plan_type,
        s.description as description,
        {{ ts('s."createdAt"') }} as created_at,
        {{ ts('s."updatedAt"') }} as updated_at,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'tracking_plans') }} as s
    {{ evidence_join('tap-segment', 'tracking_plans', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['tracking_plan_id', 'name', 'slug', 'plan_type', 'description', 'created_at', 'updated_at']) }} as row_hash
from typed
