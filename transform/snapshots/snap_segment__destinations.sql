{% snapshot snap_segment__destinations %}
select * from {{ ref('stg_segment__destinations') }} where is_current
{% endsnapshot %}
