{% snapshot snap_segment__user_group_members %}
select * from {{ ref('stg_segment__user_group_members') }} where is_current
{% endsnapshot %}
