{% snapshot snap_segment__destination_subscriptions %}
select * from {{ ref('stg_segment__destination_subscriptions') }} where is_current
{% endsnapshot %}
