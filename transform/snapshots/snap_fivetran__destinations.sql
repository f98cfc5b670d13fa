{% snapshot snap_fivetran__destinations %}
select * from {{ ref('stg_fivetran__destinations') }} where is_current
{% endsnapshot %}
