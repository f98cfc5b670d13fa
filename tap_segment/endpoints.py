"""Segment's endpoint limits (v73.2.0 spec data and shared research notes), one row per GET the
tap makes. Lists take ``pagination.count`` 1..1000 except ``listAudiences`` (1..200); rate
limits are the ones the operation descriptions document. tests/test_endpoint_limits.py checks
every row against the spec, and that every stream's path has a row."""

from __future__ import annotations

from taps_common.endpoint_limits import EndpointLimit as E
from taps_common.endpoint_limits import EndpointTable

SEGMENT_ENDPOINTS = EndpointTable(
    "Segment",
    (
        E("/", page_max=None),
        E("/sources"),
        E("/sources/{sourceId}/settings", page_max=None),
        E("/sources/{sourceId}/connected-warehouses"),
        E("/destinations"),
        E("/destination/{destinationId}/filters"),
        E("/destinations/{destinationId}/subscriptions"),
        E("/warehouses"),
        E("/warehouses/{warehouseId}/connection-state", page_max=None, per_minute=200),
        E("/warehouses/{warehouseId}/syncs", per_minute=2),
        E("/tracking-plans"),
        E("/tracking-plans/{trackingPlanId}/rules", per_minute=200),
        E("/tracking-plans/{trackingPlanId}/sources"),
        E("/transformations"),
        E("/functions", required=("resourceType",)),
        E("/users"),
        E("/groups"),
        E("/groups/{userGroupId}/users"),
        E("/groups/{userGroupId}/invites"),
        E("/roles"),
        E("/invites"),
        E("/labels", page_max=None, note="no pagination at all"),
        E("/audit-events"),
        E("/regulations"),
        E("/suppressions"),
        E("/credentials"),
        E("/usage/api-calls/daily", required=("period",)),
        E("/usage/api-calls/sources/daily", required=("period",)),
        E("/usage/mtu/daily", required=("period",)),
        E("/usage/mtu/sources/daily", required=("period",)),
        E("/spaces"),
        E("/spaces/{spaceId}/audiences", page_max=200, per_minute=60),
        E("/spaces/{spaceId}/computed-traits", per_minute=25),
        E("/reverse-etl-models"),
        E("/catalog/sources"),
        E("/catalog/destinations"),
        E("/catalog/warehouses"),
        E(
            "/events/volume",
            per_minute=60,
            required=("granularity", "startTime", "endTime"),
        ),
    ),
)
