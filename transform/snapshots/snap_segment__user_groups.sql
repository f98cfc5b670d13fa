{% snapshot snap_segment__user_groups %}
select * from {{ ref('stg_segment__user_groups') }} where is_current
{% endsnapshot %}
