{% snapshot snap_fivetran__user_connection_memberships %}
select * from {{ ref('stg_fivetran__user_connection_memberships') }} where is_current
{% endsnapshot %}
