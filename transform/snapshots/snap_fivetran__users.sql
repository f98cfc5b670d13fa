{% snapshot snap_fivetran__users %}
select * from {{ ref('stg_fivetran__users') }} where is_current
{% endsnapshot %}
