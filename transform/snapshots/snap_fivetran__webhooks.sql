{% snapshot snap_fivetran__webhooks %}
select * from {{ ref('stg_fivetran__webhooks') }} where is_current
{% endsnapshot %}
