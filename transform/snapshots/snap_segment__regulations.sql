{% snapshot snap_segment__regulations %}
select * from {{ ref('stg_segment__regulations') }} where is_current
{% endsnapshot %}
