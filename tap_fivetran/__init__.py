"""tap-fivetran: a read-only Singer tap for the Fivetran REST API (api.fivetran.com/v1)."""
