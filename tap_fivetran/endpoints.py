"""Fivetran's endpoint limits (REST API spec and shared research notes), one row per GET the
tap makes. Every list takes ``limit`` 1..1000 (default 100); the account allows 20,000
requests an hour in all (paid plans), which the limiter keeps to. Paths are the spec's own
templates. tests/test_endpoint_limits.py checks every row against the spec, and that every
stream's path has a row."""

from __future__ import annotations

from taps_common.endpoint_limits import EndpointLimit as E
from taps_common.endpoint_limits import EndpointTable, RateLimit

FIVETRAN_ENDPOINTS = EndpointTable(
    "Fivetran",
    (
        E("/v1/account/info", page_max=None),
        E("/v1/groups"),
        E("/v1/destinations"),
        E("/v1/destinations/{destinationId}", page_max=None),
        E("/v1/destinations/{destinationId}/certificates"),
        E("/v1/destinations/{destinationId}/fingerprints"),
        E("/v1/connections"),
        E("/v1/connections/{connectionId}", page_max=None),
        E("/v1/connections/{connectionId}/schemas", page_max=None),
        E("/v1/connections/{connectionId}/certificates"),
        E("/v1/connections/{connectionId}/fingerprints"),
        E(
            "/v1/connections/{connectionId}/sync-history",
            note="documented, not in the spec snapshot: start_time/end_time at most 7 days apart",
        ),
        E("/v1/users"),
        E("/v1/users/{userId}/groups"),
        E("/v1/users/{userId}/connections"),
        E("/v1/teams"),
        E("/v1/teams/{teamId}/users"),
        E("/v1/teams/{teamId}/groups"),
        E("/v1/teams/{teamId}/connections"),
        E("/v1/roles"),
        E("/v1/webhooks"),
        E("/v1/system-keys"),
        E("/v1/transformations"),
        E("/v1/transformation-projects"),
        E("/v1/private-links"),
        E("/v1/proxy"),
        E("/v1/proxy/{agentId}/connections"),
        E("/v1/hybrid-deployment-agents"),
        E("/v1/external-logging"),
        E("/v1/external-secrets-managers"),
        E("/v1/connector-sdk/packages"),
        E("/v1/metadata/connector-types"),
    ),
    account_limit=RateLimit(requests=20_000, seconds=3600),
)
