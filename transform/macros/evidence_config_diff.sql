{#- Changes between consecutive snapshot versions of one kind of object: added, removed, and
    one row per changed field (values as text; redacted values stay redacted). With `parent`
    (the parent snapshot and the expression of its evidence_key in this one), a child that
    appears or goes with its parent is not listed again. -#}
{% macro config_diff(snapshot, system, object_type, id_expr, name_expr, fields, parent=none) -%}
{%- set far = far_future() -%}
(
with versions as (
    select
        v.*,
        {{ id_expr }} as object_id,
        {{ name_expr }} as object_name,
        (v.dbt_is_deleted = 'True') as is_deleted,
        lag(v.dbt_scd_id) over w as prev_version_id,
        lag(v.dbt_is_deleted = 'True') over w as prev_deleted
        {%- for f in fields %},
        lag(cast(v.{{ f }} as text)) over w as prev_{{ f }}
        {%- endfor %}
        {%- if parent %},
        {{ parent[1] }} as parent_key
        {%- endif %}
    from {{ ref(snapshot) }} as v
    window w as (partition by v.evidence_key order by v.dbt_valid_from)
),

events as (
    select
        v.dbt_valid_from as seen_at, v.tenant_id, v.object_id, v.object_name,
        case when v.is_deleted then 'removed' else 'added' end as change,
        cast(null as text) as field,
        cast(null as text) as before,
        cast(null as text) as after
    from versions as v
    where
        ((v.prev_version_id is null or v.prev_deleted) and not v.is_deleted)
        or (v.is_deleted and not coalesce(v.prev_deleted, true))
    {%- for f in fields %}
    union all
    select
        v.dbt_valid_from, v.tenant_id, v.object_id, v.object_name, 'changed',
        '{{ f }}', v.prev_{{ f }}, cast(v.{{ f }} as text)
    from versions as v
    where
        not v.is_deleted and not v.prev_deleted
        and cast(v.{{ f }} as text) is distinct from v.prev_{{ f }}
    {%- endfor %}
)

select
    e.seen_at,
    '{{ system }}' as system,
    e.tenant_id,
    '{{ object_type }}' as object_type,
    e.object_id,
    e.object_name,
    e.change,
    e.field,
    e.before,
    e.after
from events as e
{%- if parent %}
inner join versions as v
    on v.tenant_id = e.tenant_id and v.object_id = e.object_id and v.dbt_valid_from = e.seen_at
where e.change = 'changed'
{#- Each parent check is its own branch, its EXISTS at the top of the WHERE: PostgreSQL then
    runs it as one hashed semi-join; inside an OR it would scan the parent snapshot once per
    child row (50 s for the columns of 2,000 connections). #}
union all
select
    e.seen_at, '{{ system }}', e.tenant_id, '{{ object_type }}', e.object_id, e.object_name,
    e.change, e.field, e.before, e.after
from events as e
inner join versions as v
    on v.tenant_id = e.tenant_id and v.object_id = e.object_id and v.dbt_valid_from = e.seen_at
where
    e.change = 'added' and exists (
        select 1 from {{ ref(parent[0]) }} as p
        where p.evidence_key = v.parent_key and p.dbt_is_deleted = 'False'
            and p.dbt_valid_from < e.seen_at
            and coalesce(p.dbt_valid_to, {{ far }}) >= e.seen_at
    )
union all
select
    e.seen_at, '{{ system }}', e.tenant_id, '{{ object_type }}', e.object_id, e.object_name,
    e.change, e.field, e.before, e.after
from events as e
inner join versions as v
    on v.tenant_id = e.tenant_id and v.object_id = e.object_id and v.dbt_valid_from = e.seen_at
where
    e.change = 'removed' and exists (
        select 1 from {{ ref(parent[0]) }} as p
        where p.evidence_key = v.parent_key and p.dbt_is_deleted = 'False'
            and p.dbt_valid_from <= e.seen_at
            and coalesce(p.dbt_valid_to, {{ far }}) > e.seen_at
    )
{%- endif %}
)
{%- endmacro %}
