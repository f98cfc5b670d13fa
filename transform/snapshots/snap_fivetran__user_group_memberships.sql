{% snapshot snap_fivetran__user_group_memberships %}
select * from {{ ref('stg_fivetran__user_group_memberships') }} where is_current
{% endsnapshot %}
