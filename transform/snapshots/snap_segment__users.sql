{% snapshot snap_segment__users %}
select * from {{ ref('stg_segment__users') }} where is_current
{% endsnapshot %}
