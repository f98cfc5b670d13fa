-- The Fivetran account and the user or system key whose API key the tap used.
with typed as (
    select
        {{ evidence_key(['(' ~ fivetran_tenant() ~ ')', 's.account_id']) }} as evidence_key,
        s.account_id as account_id,
        s.account_name as account_name,
        s.user_id as user_id,
        s.system_key_id as system_key_id,
        {{ evidence_columns(fivetran_tenant()) }}
    from {{ source('fivetran', 'accounts') }} as s
    {{ evidence_join('tap-fivetran', 'accounts', fivetran_tenant()) }}
)

select
    *,
    {{ row_hash(['account_id', 'account_name', 'user_id', 'system_key_id']) }} as row_hash
from typed
