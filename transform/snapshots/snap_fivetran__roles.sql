{% snapshot snap_fivetran__roles %}
select * from {{ ref('stg_fivetran__roles') }} where is_current
{% endsnapshot %}
