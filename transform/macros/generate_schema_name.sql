{#- Models name their schema outright (evidence, evidence_staging, evidence_snapshots) instead
    of dbt's default <target schema>_<custom schema>, so queries read `evidence.access_review`. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
