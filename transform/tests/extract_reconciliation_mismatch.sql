-- Fails the build when the warehouse does not hold what a run returned: a row lost or added,
-- or a key changed, in a stream whose latest extracting run is the one compared
-- (models/marts/extract_reconciliation.sql). Each failing row names the run and stream.
select run_id, system, tenant_id, stream, manifest_keys, warehouse_records, keys_match
from {{ ref('extract_reconciliation') }}
where status = 'mismatch'
