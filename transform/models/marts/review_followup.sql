-- Every revoke decision of every recorded access review, and whether the account history shows
-- it carried out (review_followup.yml says what done means and why a later keep changes nothing).
with build as (
    select {{ evidence_build_time() }} as built_at
),

decisions as (
    select * from {{ ref('stg_reviews__access_decisions') }}
),

versions as (
    select access_key, valid_from, is_deleted from {{ ref('int_account_versions') }}
),

-- Each account's version in force now (a removal when the account is gone).
latest as (
    select access_key, valid_from, is_deleted
    from (
        select
            *,
            row_number() over (partition by access_key order by valid_from desc) as rn
        from versions
    ) as ranked
    where rn = 1
),

followup as (
    select
        r.*,
        coalesce(
            -- The first removal at or after the decision, even if the account came back later:
            -- the revoke was carried out, and a new grant is a change of its own.
            (
                select min(v.valid_from)
                from versions as v
                where v.access_key = r.access_key and v.is_deleted and v.valid_from >= r.decided_at
            ),
            -- Else the account is gone now, removed before the decision was made.
            (
                select l.valid_from
                from latest as l
                where l.access_key = r.access_key and l.is_deleted
            )
        ) as done_at,
        (
            select min(k.decided_at)
            from decisions as k
            where
                k.access_key = r.access_key
                and k.decision = 'keep'
                and k.decided_at > r.decided_at
        ) as later_keep_at
    from decisions as r
    where r.decision = 'revoke'
)

select
    f.review_id,
    f.access_key,
    f.system,
    f.tenant_id,
    f.account_id,
    f.email,
    f.reviewer,
    f.decided_at,
    f.pack_sha256,
    f.comment,
    case when f.done_at is null then 'open' else 'done' end as status,
    f.done_at,
    cast(
        greatest(0, {{ days_between('f.decided_at', 'coalesce(f.done_at, b.built_at)') }})
        as integer
    ) as days_open,
    f.later_keep_at
from followup as f
cross join build as b
