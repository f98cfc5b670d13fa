{% snapshot snap_segment__source_settings %}
select * from {{ ref('stg_segment__source_settings') }} where is_current
{% endsnapshot %}
