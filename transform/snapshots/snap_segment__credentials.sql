{% snapshot snap_segment__credentials %}
select * from {{ ref('stg_segment__credentials') }} where is_current
{% endsnapshot %}
