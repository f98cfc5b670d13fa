-- Segment's audit trail, for each account's latest activity: who acted (`actor`, and the
-- actor's email where the API gives it) and when. Events never change and are read
-- incrementally from the tap's start_date (30 days back by default), so nothing here is
-- "current" or removed. A workspace whose plan has no audit trail may have no table at all.
select
    cast(s."workspaceId" as text) as tenant_id,
    s.id as event_id,
    s.actor as actor,
    lower(trim(s."actorEmail")) as actor_email_key,
    {{ ts('s."timestamp"') }} as occurred_at
from {{ optional_source('segment', 'audit_events', {
    'workspaceId': 'text',
    'id': 'text',
    'actor': 'text',
    'actorEmail': 'text',
    'timestamp': 'timestamp',
}) }} as s
where s."timestamp" is not null
