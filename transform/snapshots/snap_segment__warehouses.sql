{% snapshot snap_segment__warehouses %}
select * from {{ ref('stg_segment__warehouses') }} where is_current
{% endsnapshot %}
