{% snapshot snap_fivetran__connection_tables %}
select * from {{ ref('stg_fivetran__connection_tables') }} where is_current
{% endsnapshot %}
