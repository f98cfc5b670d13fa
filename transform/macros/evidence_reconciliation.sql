{#- Reconciliation: the run manifest's key digest (taps_common/key_digest.py), recomputed from
    the loaded tables, so evidence.extract_reconciliation can say whether the warehouse holds
    exactly the keys the API returned. The definition, the same in Python and here:

    canonical key = the primary-key values in key order joined by chr(31); a text value as
                    it is, a timestamp as whole microseconds since 1970-01-01 UTC, a whole
                    number as its integer, a boolean true/false, a null chr(30)
    key hash      = the first 15 hex digits of md5(canonical key) as a bigint (60 bits)
    digest        = sum of the key hashes of the distinct keys, modulo 2^60

    The list of tables is sources.yml: every table with meta primary_key. -#}

{% macro key_digest_modulus() -%}
    1152921504606846976
{%- endmacro %}

{#- The first 15 hex digits of md5(text) as a bigint. -#}
{% macro key_hash(text_expr) -%}
    {{ return(adapter.dispatch('key_hash')(text_expr)) }}
{%- endmacro %}

{% macro duckdb__key_hash(text_expr) -%}
    cast('0x' || substr(md5({{ text_expr }}), 1, 15) as bigint)
{%- endmacro %}

{% macro default__key_hash(text_expr) -%}
    cast(cast('x' || substr(md5({{ text_expr }}), 1, 15) as bit(60)) as bigint)
{%- endmacro %}

{#- A naive UTC timestamp as whole microseconds since the epoch. -#}
{% macro epoch_micros(expr) -%}
    {{ return(adapter.dispatch('epoch_micros')(expr)) }}
{%- endmacro %}

{% macro duckdb__epoch_micros(expr) -%}
    epoch_us({{ expr }})
{%- endmacro %}

{#- extract(epoch) of a timestamp without time zone counts from 1970-01-01 00:00 as written,
    which is UTC here (macros/evidence_time.sql). -#}
{% macro default__epoch_micros(expr) -%}
    cast(round(extract(epoch from {{ expr }}) * 1000000) as bigint)
{%- endmacro %}

{#- One key column as the canonical key renders it, chosen by the column's type in this
    warehouse (a timestamp column holds the instant, not the API's spelling of it). -#}
{% macro key_value(alias, column) -%}
    {%- set ref = alias ~ '.' ~ adapter.quote(column.name) -%}
    {%- set dtype = column.dtype | lower -%}
    {%- if 'timestamp' in dtype -%}
        cast({{ epoch_micros(ref) }} as text)
    {%- elif 'bool' in dtype -%}
        case when {{ ref }} then 'true' else 'false' end
    {%- elif column.is_number() -%}
        case
            when {{ ref }} = floor({{ ref }}) then cast(cast({{ ref }} as bigint) as text)
            else cast({{ ref }} as text)
        end
    {%- else -%}
        cast({{ ref }} as text)
    {%- endif -%}
{%- endmacro %}

{#- Every listed stream of both taps: system, stream, and, when its table exists here, the
    relation with the SQL of its canonical key and of its tenant (null for Fivetran, whose
    records carry no account: one account per warehouse). Empty at parse time. -#}
{% macro reconciliation_streams() -%}
    {%- set found = [] -%}
    {%- if not execute -%}
        {{ return(found) }}
    {%- endif -%}
    {%- set tables = source_tables_with_columns() -%}
    {%- for node in graph.sources.values() | sort(attribute='unique_id') -%}
        {%- set meta = node.config.get('meta') or node.get('meta') or {} -%}
        {%- set source_meta = node.get('source_meta') or {} -%}
        {#- This package's sources only: an installing project may have a `segment` too. -#}
        {%- if node.package_name == evidence_package()
                and node.source_name in ('segment', 'fivetran') and meta.get('primary_key') -%}
            {%- set entry = {'system': node.source_name, 'stream': node.name, 'relation': none} -%}
            {%- set rel = source(node.source_name, node.name) -%}
            {%- set by_name = tables.get((rel.schema | lower, rel.identifier | lower)) -%}
            {%- if by_name is not none -%}
                {%- set existing = rel -%}
                {%- set renamed = meta.get('key_renamed') or {} -%}
                {%- set parts = [] -%}
                {%- for key in meta['primary_key'] -%}
                    {%- set alt = renamed.get(key) -%}
                    {%- set col = by_name.get((alt or '') | lower) or by_name.get(key | lower) -%}
                    {%- if col is none -%}
                        {{ exceptions.raise_compiler_error(
                            rel ~ ' has no key column ' ~ key ~ ': the reconciliation cannot '
                            ~ 'read its keys (was the table loaded by these taps?)') }}
                    {%- endif -%}
                    {%- do parts.append('coalesce(' ~ key_value('s', col) ~ ', chr(30))') -%}
                {%- endfor -%}
                {%- set tenant = meta.get('tenant_column') or source_meta.get('tenant_column') -%}
                {%- do entry.update({
                    'relation': existing,
                    'key_text': parts | join(' || chr(31) || '),
                    'tenant': "coalesce(cast(s." ~ adapter.quote(tenant) ~ " as text), '')"
                        if tenant else 'cast(null as text)',
                }) -%}
            {%- endif -%}
            {%- do found.append(entry) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(found) }}
{%- endmacro %}

{#- Every table of the schemas this package's segment and fivetran sources read, as
    {(schema, table): {column name: Column}}, keyed in lower case (a Column keeps the
    name's own case, which PostgreSQL needs): one information_schema query per
    schema instead of two introspection queries per table (74 tables: seconds of the build). -#}
{% macro source_tables_with_columns() -%}
    {%- set schemas = [] -%}
    {%- set database = {'name': none} -%}
    {%- for node in graph.sources.values() -%}
        {%- if node.package_name == evidence_package()
                and node.source_name in ('segment', 'fivetran') -%}
            {%- set rel = source(node.source_name, node.name) -%}
            {%- do database.update({'name': rel.database}) -%}
            {%- if rel.schema | lower not in schemas -%}
                {%- do schemas.append(rel.schema | lower) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- set tables = {} -%}
    {%- if schemas -%}
        {%- set query -%}
            select lower(table_schema), lower(table_name), column_name, data_type
            from information_schema.columns
            where lower(table_schema) in (
                {%- for s in schemas %}'{{ s }}'{{ ', ' if not loop.last }}{% endfor -%})
            {%- if database.name %}
              and lower(table_catalog) = lower('{{ database.name }}')
            {%- endif %}
            order by 1, 2, ordinal_position
        {%- endset -%}
        {%- for row in run_query(query).rows -%}
            {%- set key = (row[0], row[1]) -%}
            {%- if key not in tables -%}
                {%- do tables.update({key: {}}) -%}
            {%- endif -%}
            {%- do tables[key].update({row[2] | lower: api.Column.create(row[2], row[3])}) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(tables) }}
{%- endmacro %}

{#- system, stream of every listed stream (a table or not). -#}
{% macro reconciliation_listed(streams) -%}
    select cast(null as text) as system, cast(null as text) as stream where 1 = 0
    {%- for s in streams %}
    union all select '{{ s.system }}', '{{ s.stream }}'
    {%- endfor %}
{%- endmacro %}

{#- One row per row of every listed table that exists: system, stream, tenant_id,
    extracted_at, key_hash. -#}
{% macro reconciliation_rows(streams) -%}
    select
        cast(null as text) as system,
        cast(null as text) as stream,
        cast(null as text) as tenant_id,
        cast(null as timestamp) as extracted_at,
        cast(null as bigint) as key_hash
    where 1 = 0
    {%- for s in streams if s.relation is not none %}
    union all
    select
        '{{ s.system }}',
        '{{ s.stream }}',
        {{ s.tenant }},
        {{ ts('s._sdc_extracted_at') }},
        {{ key_hash(s.key_text) }}
    from {{ s.relation }} as s
    {%- endfor %}
{%- endmacro %}
