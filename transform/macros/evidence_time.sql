{#- Times are naive UTC timestamps on both adapters (target-duckdb and target-postgres write
    _sdc_* and date-time fields that way), and every time these models make is computed in UTC
    here, never from the session: no now() or current_timestamp, so neither the profile's
    TimeZone nor the server's matters (a project that installs these models as a package has
    its own profile). -#}

{% macro ts(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}

{#- The build's own time (dbt's run_started_at, in UTC): one value for every snapshot and mart
    of one `dbt build`, so the changes of one run share one seen_at and group exactly. -#}
{% macro evidence_build_time() -%}
    {%- set utc = run_started_at.astimezone(modules.pytz.utc) -%}
    cast('{{ utc.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{#- Snapshots stamp versions, closing records included, with the build time instead of each
    statement's session-local now(). dbt's snapshot materialization calls snapshot_get_time(),
    and dbt resolves a macro name for a node from the node's own package first: so this
    override reaches this project's snapshots whether the project is the root or installed as
    a package, and only them. An adapter-specific one (duckdb__snapshot_get_time) would not
    work from a package: dbt's dispatch looks in the root project and dbt itself unless the
    root project's `dispatch:` config lists the package. -#}
{% macro snapshot_get_time() -%}
    {{ evidence_build_time() }}
{%- endmacro %}

{#- The moment access_as_of shows: var as_of, else env DBT_EVIDENCE_AS_OF, else the build time.
    Any ISO-8601 form (Z, offset, date only) becomes naive UTC. -#}
{% macro evidence_as_of() -%}
    {%- set raw = var('as_of', '') or env_var('DBT_EVIDENCE_AS_OF', '') -%}
    {%- if not raw -%}
        {{ evidence_build_time() }}
    {%- else -%}
        {%- set text = (raw | string).strip().replace('Z', '+00:00') -%}
        {%- set parsed = modules.datetime.datetime.fromisoformat(text) -%}
        {%- if parsed.tzinfo is not none -%}
            {%- set parsed = parsed.astimezone(modules.pytz.utc).replace(tzinfo=none) -%}
        {%- endif -%}
        cast('{{ parsed.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{#- Whole days from a to b (both timestamps). -#}
{% macro days_between(a, b) -%}
    {{ return(adapter.dispatch('days_between')(a, b)) }}
{%- endmacro %}

{% macro default__days_between(a, b) -%}
    (cast({{ b }} as date) - cast({{ a }} as date))
{%- endmacro %}

{% macro duckdb__days_between(a, b) -%}
    date_diff('day', cast({{ a }} as date), cast({{ b }} as date))
{%- endmacro %}

{% macro far_future() -%}
    cast('9999-12-31 00:00:00' as timestamp)
{%- endmacro %}
