-- Every version of every account's access, with the interval it held: "who had access on date
-- X" is one filter, valid_from <= X and (valid_to is null or valid_to > X). A removal is a
-- version of its own (status removed), so gaps and returns show. Grants and the latest activity
-- are as they stood when the version ended (its removal or the next version; the build time
-- for the version in force): memberships change on their own, between account versions.
with versions as (
    select
        *,
        case when is_deleted then valid_from else valid_to end as ended_at
    from {{ ref('int_account_versions') }}
),

grants as (
    {{ grants_of('versions', 'l.ended_at', evidence_build_time()) }}
),

activity as (
    {{ segment_activity('versions', 'coalesce(l.ended_at, ' ~ evidence_build_time() ~ ')') }}
)

select
    v.version_id,
    v.access_key,
    v.system,
    v.tenant_id,
    v.account_id,
    v.email,
    v.name,
    v.roles,
    g.grants,
    case when v.is_deleted then 'removed' else v.status end as status,
    v.is_privileged,
    v.created_at,
    v.last_login_at,
    a.last_activity_at,
    v.valid_from,
    v.valid_to
from versions as v
left join grants as g on g.version_id = v.version_id
left join activity as a on a.version_id = v.version_id
