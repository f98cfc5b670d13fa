{% snapshot snap_fivetran__connections %}
select * from {{ ref('stg_fivetran__connections') }} where is_current
{% endsnapshot %}
