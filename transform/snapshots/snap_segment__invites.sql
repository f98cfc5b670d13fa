{% snapshot snap_segment__invites %}
select * from {{ ref('stg_segment__invites') }} where is_current
{% endsnapshot %}
