{% snapshot snap_segment__user_group_invites %}
select * from {{ ref('stg_segment__user_group_invites') }} where is_current
{% endsnapshot %}
