-- Segment deletion and suppression requests (GDPR, CCPA). The API lists them for 90 days only;
-- the snapshot keeps each one after that. Who is to be forgotten (`subjects`: user or object
-- ids) is personal data, so only how many subjects a request names is carried on.
with typed as (
    select
        {{ evidence_key(['s."workspaceId"', 's.id']) }} as evidence_key,
        s.id as regulation_id,
        s."regulationType" as regulation_type,
        s."subjectType" as subject_type,
        cast({{ json_length('s.subjects') }} as integer) as subject_count,
        s.status as status,
        {{ ts('s."createdAt"') }} as created_at,
        {{ ts('s."finishedAt"') }} as finished_at,
        {{ evidence_columns('s."workspaceId"') }}
    from {{ source('segment', 'regulations') }} as s
    {{ evidence_join('tap-segment', 'regulations', 's."workspaceId"') }}
)

select
    *,
    {{ row_hash(['regulation_id', 'regulation_type', 'subject_type', 'subject_count', 'status', 'created_at', 'finished_at']) }} as row_hash
from typed
