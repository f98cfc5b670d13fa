-- Does the warehouse hold what the API returned? Per run, stream and tenant that the manifest
-- calls complete: the manifest's distinct keys and key digest against the same two numbers
-- recomputed from the raw table (macros/evidence_reconciliation.sql).
--
-- What the warehouse holds for a run: the rows of that stream and tenant extracted at or after
-- the run's start. The target upserts on the key and an upsert moves _sdc_extracted_at to the
-- latest run that extracted the row, so those are exactly the run's rows as long as no later
-- run extracted that stream and tenant; once one did (records > 0 in its manifest, complete
-- or not), the older run's rows are no longer told apart: 'superseded', not compared. So the
-- comparable run is the latest one that extracted the stream (or a later one that found
-- nothing). Rows soft-deleted afterwards (_sdc_deleted_at) still count: the warehouse holds
-- them. 'not_checked': the stream is not listed in sources.yml, or the manifest predates the
-- digest.
{%- set streams = reconciliation_streams() %}

with runs as (
    select
        run_id,
        replace(tap, 'tap-', '') as system,
        tenant_id,
        stream,
        started_at,
        status,
        records,
        distinct_keys,
        key_digest,
        max(case when records > 0 then started_at end) over (
            partition by tap, stream, tenant_id
            order by started_at
            rows between 1 following and unbounded following
        ) as next_extracting_run_at
    from {{ ref('stg_sync_run_streams') }}
),

listed as (
    {{ reconciliation_listed(streams) }}
),

held as (
    {{ reconciliation_rows(streams) }}
),

complete as (
    select
        r.*,
        (l.stream is not null and r.key_digest is not null) as can_check
    from runs as r
    left join listed as l
        on l.system = r.system
        and l.stream = r.stream
    where r.status = 'complete'
),

compared as (
    select
        c.run_id,
        c.stream,
        c.tenant_id,
        count(h.extracted_at) as warehouse_records,
        cast(coalesce(sum(h.key_hash), 0) % {{ key_digest_modulus() }} as bigint)
            as warehouse_digest
    from complete as c
    left join held as h
        on h.system = c.system
        and h.stream = c.stream
        and coalesce(h.tenant_id, c.tenant_id) = c.tenant_id
        and h.extracted_at >= c.started_at
    where c.can_check and c.next_extracting_run_at is null
    group by c.run_id, c.stream, c.tenant_id
)

select
    cast(c.run_id as text) as run_id,
    cast(c.system as text) as system,
    cast(c.tenant_id as text) as tenant_id,
    cast(c.stream as text) as stream,
    cast(c.started_at as timestamp) as run_started_at,
    cast(c.records as bigint) as manifest_records,
    cast(c.distinct_keys as bigint) as manifest_keys,
    cast(k.warehouse_records as bigint) as warehouse_records,
    case
        when k.run_id is not null
            then (k.warehouse_records = c.distinct_keys and k.warehouse_digest = c.key_digest)
    end as keys_match,
    cast(
        case
            when c.next_extracting_run_at is not null then 'superseded'
            when k.run_id is null then 'not_checked'
            when k.warehouse_records = c.distinct_keys and k.warehouse_digest = c.key_digest
                then 'ok'
            else 'mismatch'
        end as text
    ) as status
from complete as c
left join compared as k
    on k.run_id = c.run_id
    and k.stream = c.stream
    and k.tenant_id = c.tenant_id
