{% snapshot snap_fivetran__team_group_memberships %}
select * from {{ ref('stg_fivetran__team_group_memberships') }} where is_current
{% endsnapshot %}
