-- Who has access now: one row per account per system per tenant (Segment workspace, Fivetran
-- account), removed accounts included with their last known roles.
{{ access_state(evidence_build_time()) }}
