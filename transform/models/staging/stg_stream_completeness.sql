-- Per tap, stream and tenant: since when a row must have been extracted to be current (the
-- start of the latest run in which the stream was complete), and how the latest run went.
with ranked as (
    select
        *,
        row_number() over (partition by tap, stream, tenant_id order by started_at desc) as rn
    from {{ ref('stg_sync_run_streams') }}
)

select
    tap,
    stream,
    tenant_id,
    max(case when status = 'complete' then started_at end) as current_since,
    max(case when rn = 1 then started_at end) as last_run_started_at,
    max(case when rn = 1 then status end) as last_run_status,
    max(case when rn = 1 then reason end) as last_run_reason
from ranked
group by tap, stream, tenant_id
