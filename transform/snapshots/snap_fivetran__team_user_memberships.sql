{% snapshot snap_fivetran__team_user_memberships %}
select * from {{ ref('stg_fivetran__team_user_memberships') }} where is_current
{% endsnapshot %}
