-- Who had access at the moment the dbt var `as_of` names (env DBT_EVIDENCE_AS_OF; default the
-- build time): the columns of access_review as they stood then, plus that moment.
select
    s.*,
    {{ evidence_as_of() }} as as_of
from ({{ access_state(evidence_as_of()) }}) as s
