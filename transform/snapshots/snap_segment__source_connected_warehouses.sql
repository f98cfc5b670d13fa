{% snapshot snap_segment__source_connected_warehouses %}
select * from {{ ref('stg_segment__source_connected_warehouses') }} where is_current
{% endsnapshot %}
