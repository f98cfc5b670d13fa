-- Decisions of the recorded access reviews (`evidence-pack record-review` appends them to
-- evidence_reviews.access_decisions, dbt var reviews_schema): one row per account per review.
-- The table appears with the first recorded review; until then this is empty.
select
    review_id,
    access_key,
    system,
    tenant_id,
    account_id,
    email,
    lower(trim(decision)) as decision,
    comment,
    reviewer,
    {{ ts('decided_at') }} as decided_at,
    pack_sha256
from {{ optional_source('reviews', 'access_decisions', {
    'review_id': 'text',
    'access_key': 'text',
    'system': 'text',
    'tenant_id': 'text',
    'account_id': 'text',
    'email': 'text',
    'decision': 'text',
    'comment': 'text',
    'reviewer': 'text',
    'decided_at': 'timestamp',
    'pack_sha256': 'text',
}) }} as d
