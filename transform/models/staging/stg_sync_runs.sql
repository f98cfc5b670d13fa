-- The run manifest of both taps, one row per run: the completeness evidence.
{% set cols %}
    run_id, tap, tap_version, status, settings_fingerprint,
    {{ ts('started_at') }} as started_at, {{ ts('finished_at') }} as finished_at,
    tenant_ids, selected_streams, streams
{% endset %}
select {{ cols }} from {{ source('segment', 'sync_runs') }}
union all
select {{ cols }} from {{ source('fivetran', 'sync_runs') }}
