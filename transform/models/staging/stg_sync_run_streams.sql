-- One row per run, stream and tenant: complete, failed (with the reason) or skipped.
select
    r.run_id,
    r.tap,
    r.started_at,
    r.finished_at,
    {{ json_get('e.value', 'stream') }} as stream,
    {{ json_get('e.value', 'tenant_id') }} as tenant_id,
    {{ json_get('e.value', 'status') }} as status,
    cast({{ json_get('e.value', 'records') }} as integer) as records,
    cast({{ json_get('e.value', 'requests') }} as integer) as requests,
    {{ json_get('e.value', 'reason') }} as reason,
    -- Distinct primary keys and their digest (taps_common/key_digest.py); null from taps older
    -- than the digest.
    cast({{ json_get('e.value', 'distinct_keys') }} as bigint) as distinct_keys,
    cast({{ json_get('e.value', 'key_digest') }} as bigint) as key_digest
from {{ ref('stg_sync_runs') }} as r
{{ json_elements('r.streams', 'e') }}
