{% snapshot snap_fivetran__teams %}
select * from {{ ref('stg_fivetran__teams') }} where is_current
{% endsnapshot %}
