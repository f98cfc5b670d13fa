{% snapshot snap_fivetran__system_keys %}
select * from {{ ref('stg_fivetran__system_keys') }} where is_current
{% endsnapshot %}
