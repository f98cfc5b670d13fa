{% snapshot snap_segment__roles %}
select * from {{ ref('stg_segment__roles') }} where is_current
{% endsnapshot %}
