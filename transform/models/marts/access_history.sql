-- Every version of every account's access, with the interval it held: "who had access on date
-- X" is one filter, valid_from <= X and (valid_to is null or valid_to > X). A removal is a
-- version of its own (status removed), so gaps and returns show.
select
    version_id,
    access_key,
    system,
    tenant_id,
    account_id,
    email,
    name,
    roles,
    case when is_deleted then 'removed' else status end as status,
    is_privileged,
    created_at,
    last_login_at,
    valid_from,
    valid_to
from {{ ref('int_account_versions') }}
