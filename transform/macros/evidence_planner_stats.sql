{#- Table statistics for PostgreSQL's planner, right after a snapshot or table is built. On a
    first build autovacuum has not yet analysed the new tables, and without statistics the
    planner chose nested loops for config_changes: 73 s instead of under 1 s at the large
    size. DuckDB keeps its statistics as it writes: nothing to do there. -#}
{% macro analyze_for_planner(relation) -%}
    {{ return(adapter.dispatch('analyze_for_planner')(relation)) }}
{%- endmacro %}

{% macro postgres__analyze_for_planner(relation) -%}
    analyze {{ relation }}
{%- endmacro %}

{% macro default__analyze_for_planner(relation) -%}
{%- endmacro %}
