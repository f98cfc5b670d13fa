{% snapshot snap_segment__sources %}
select * from {{ ref('stg_segment__sources') }} where is_current
{% endsnapshot %}
