{#- Installed as a package, these models' ref() and source() would find the installing
    project's resources first (dbt searches the root project before the package unless the
    root sets the flag require_ref_searches_node_package_before_root): a model or a source of
    that project named like one of ours (a `segment` source over Segment's own warehouse
    tables, say) would silently take the place of ours, and the evidence would be built from
    the wrong tables. So this package's nodes use these two instead of dbt's (dbt lets a
    package override ref and source for its own nodes; the root project's and other packages'
    nodes keep dbt's). -#}

{#- The package's name: where its models and sources are. -#}
{% macro evidence_package() -%}
    {{ return('control_plane_evidence') }}
{%- endmacro %}

{#- ref('model') is this package's model; a ref naming its package passes through. -#}
{% macro ref() -%}
    {%- set version = kwargs.get('version') or kwargs.get('v') -%}
    {%- if varargs | length == 1 -%}
        {{ return(builtins.ref(evidence_package(), varargs[0], version=version)) }}
    {%- endif -%}
    {{ return(builtins.ref(*varargs, version=version)) }}
{%- endmacro %}

{#- source('segment', 'users') is the table this package's sources.yml names. dbt's source()
    takes no package, so look ours up and build its relation. -#}
{% macro source(source_name, table_name) -%}
    {%- set found = builtins.source(source_name, table_name) -%}
    {%- if not execute -%}
        {{ return(found) }}
    {%- endif -%}
    {%- set own = graph.sources.get(
        'source.' ~ evidence_package() ~ '.' ~ source_name ~ '.' ~ table_name) -%}
    {%- if own is none -%}
        {{ return(found) }}
    {%- endif -%}
    {{ return(api.Relation.create(
        database=own.database, schema=own.schema, identifier=own.identifier)) }}
{%- endmacro %}
