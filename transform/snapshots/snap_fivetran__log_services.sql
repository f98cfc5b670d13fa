{% snapshot snap_fivetran__log_services %}
select * from {{ ref('stg_fivetran__log_services') }} where is_current
{% endsnapshot %}
