{% snapshot snap_fivetran__connection_columns %}
select * from {{ ref('stg_fivetran__connection_columns') }} where is_current
{% endsnapshot %}
