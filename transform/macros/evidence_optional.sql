{#- A table the evidence job may not have written yet (no HR roster given, no review recorded):
    the source's relation when it exists, else an empty row set with the given columns, so
    the models build (empty) before the first roster or review instead of failing.
    `columns` maps each column name to its SQL type, in order. Empty at parse time. -#}
{% macro optional_source(source_name, table_name, columns) -%}
    {%- set rel = source(source_name, table_name) -%}
    {%- set existing = adapter.get_relation(
            database=rel.database, schema=rel.schema, identifier=rel.identifier)
        if execute else none -%}
    {%- if existing is not none -%}
        {{ existing }}
    {%- else -%}
        (select
        {%- for name, type in columns.items() %}
            cast(null as {{ type }}) as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
        {%- endfor %}
        where 1 = 0)
    {%- endif -%}
{%- endmacro %}
