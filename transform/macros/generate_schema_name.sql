{#- Models name their schema outright (evidence, evidence_staging, evidence_snapshots) instead
    of dbt's default <target schema>_<custom schema>, so queries read `evidence.access_review`.
    When another project installs these models as a package, dbt still uses this macro for
    this package's nodes (a package's generate_schema_name applies to its own nodes, even over
    the root project's), and the root project's own models keep its naming. The root project
    moves them elsewhere with +schema (models: control_plane_evidence: marts: +schema: ...),
    which this macro takes as the schema's name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
