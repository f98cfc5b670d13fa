{% snapshot snap_fivetran__groups %}
select * from {{ ref('stg_fivetran__groups') }} where is_current
{% endsnapshot %}
