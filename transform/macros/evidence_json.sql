{#- Nested objects and arrays land as JSON in DuckDB (target-duckdb); in PostgreSQL
    (target-postgres) objects land as jsonb and arrays as arrays. `->` and `->>` with a plain
    key work on both for objects. -#}

{% macro json_get(expr, key) -%}
    ({{ expr }} ->> '{{ key }}')
{%- endmacro %}

{% macro json_obj(expr, key) -%}
    ({{ expr }} -> '{{ key }}')
{%- endmacro %}

{#- JSON as text, for hashing and for before/after values. -#}
{% macro json_text(expr) -%}
    cast({{ expr }} as text)
{%- endmacro %}

{#- A lateral join with one row per element of a JSON array, as `alias.value` (no rows for
    null or a non-array). -#}
{% macro json_elements(expr, alias) -%}
    {{ return(adapter.dispatch('json_elements')(expr, alias)) }}
{%- endmacro %}

{% macro duckdb__json_elements(expr, alias) -%}
    cross join lateral (
        select unnest(json_extract({{ expr }}, '$[*]')) as value
    ) as {{ alias }}
{%- endmacro %}

{#- target-postgres lands arrays as PostgreSQL arrays (jsonb[], text[]) and objects as jsonb:
    to_jsonb turns either into one jsonb value. -#}
{% macro postgres__json_elements(expr, alias) -%}
    cross join lateral jsonb_array_elements(
        case
            when jsonb_typeof(to_jsonb({{ expr }})) = 'array' then to_jsonb({{ expr }})
            else '[]'::jsonb
        end
    ) as {{ alias }}(value)
{%- endmacro %}

{#- Stable fingerprint of business columns: a new snapshot version when any of them changes. -#}
{% macro row_hash(columns) -%}
    md5(
        {%- for c in columns %}
        coalesce(cast({{ c }} as text), '<null>'){% if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- One text key from several columns. -#}
{% macro evidence_key(columns) -%}
    {%- for c in columns -%}
        coalesce(cast({{ c }} as text), ''){% if not loop.last %} || '|' || {% endif %}
    {%- endfor -%}
{%- endmacro %}

{#- How many elements a JSON array holds (null for null or a non-array). -#}
{% macro json_length(expr) -%}
    {{ return(adapter.dispatch('json_length')(expr)) }}
{%- endmacro %}

{% macro duckdb__json_length(expr) -%}
    (case when json_type({{ expr }}) = 'ARRAY' then json_array_length({{ expr }}) end)
{%- endmacro %}

{% macro postgres__json_length(expr) -%}
    (case
        when jsonb_typeof(to_jsonb({{ expr }})) = 'array' then jsonb_array_length(to_jsonb({{ expr }}))
    end)
{%- endmacro %}
