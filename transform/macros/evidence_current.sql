{#- "Current" without ACTIVATE_VERSION (target-duckdb ignores it): a row is current when the
    latest run in which its stream was complete for its tenant extracted it (an upsert moves
    _sdc_extracted_at to the latest run that extracted it), so its extraction time is at or
    after that run's start. A stream that failed or was skipped leaves the cut-off where it
    was, so its rows never look removed; with no complete run on record nothing looks removed.
    A soft delete from ACTIVATE_VERSION (_sdc_deleted_at, target-postgres) removes a row too.
    Staging models read the raw table as `s` and join the cut-off as `cut`. -#}

{% macro evidence_join(tap, stream, tenant) -%}
    left join {{ ref('stg_stream_completeness') }} as cut
        on cut.tap = '{{ tap }}'
        and cut.stream = '{{ stream }}'
        and cut.tenant_id = {{ tenant }}
{%- endmacro %}

{% macro evidence_columns(tenant) -%}
    cast({{ tenant }} as text) as tenant_id,
    {{ ts('s._sdc_extracted_at') }} as extracted_at,
    (
        s._sdc_deleted_at is null
        and (cut.current_since is null or {{ ts('s._sdc_extracted_at') }} >= cut.current_since)
    ) as is_current
{%- endmacro %}

{#- Fivetran records carry no account id: one Fivetran account per warehouse (the one the
    accounts stream names), as the taps' keys assume. -#}
{% macro fivetran_tenant() -%}
    (select max(a.account_id) from {{ source('fivetran', 'accounts') }} as a)
{%- endmacro %}
