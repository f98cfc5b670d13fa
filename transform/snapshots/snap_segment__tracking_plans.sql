{% snapshot snap_segment__tracking_plans %}
select * from {{ ref('stg_segment__tracking_plans') }} where is_current
{% endsnapshot %}
