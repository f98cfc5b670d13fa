"""What the sandbox serves, read straight from its API objects (no HTTP, no tap code), so tests
compare the tap's output with an independent walk of the same data."""

from __future__ import annotations

from typing import Any

import requests

FIVETRAN_LISTS = {
    "groups": "/v1/groups",
    "destinations": "/v1/destinations",
    "connections": "/v1/connections",
    "users": "/v1/users",
    "teams": "/v1/teams",
    "roles": "/v1/roles",
    "webhooks": "/v1/webhooks",
    "system_keys": "/v1/system-keys",
    "transformations": "/v1/transformations",
    "transformation_projects": "/v1/transformation-projects",
    "private_links": "/v1/private-links",
    "proxy_agents": "/v1/proxy",
    "hybrid_deployment_agents": "/v1/hybrid-deployment-agents",
    "log_services": "/v1/external-logging",
    "external_secrets_managers": "/v1/external-secrets-managers",
    "connector_sdk_packages": "/v1/connector-sdk/packages",
    "connector_types": "/v1/metadata/connector-types",
}


def fivetran_items(api: Any, path: str) -> list[dict]:
    """Every item of a Fivetran list, following next_cursor."""
    items: list[dict] = []
    cursor = None
    for _ in range(10_000):
        query = {"limit": "1000", **({"cursor": cursor} if cursor else {})}
        body = api.get(path, **query)
        data = body["data"]
        items.extend(data["items"])
        cursor = data.get("next_cursor")
        if not cursor:
            return items
    raise AssertionError(f"{path}: pagination did not end")


def segment_items(base_url: str, token: str, path: str, key: str, **query: Any) -> list:
    """Every item of a Segment list over HTTP, following pagination.next (bracket keys, unlike
    the tap's dot keys, so the walk is independent of the tap's paginator)."""
    items: list = []
    cursor = None
    for _ in range(10_000):
        params = {"pagination[count]": 1000, **query}
        if cursor:
            params["pagination[cursor]"] = cursor
        response = requests.get(
            f"{base_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        response.raise_for_status()
        data = response.json()["data"]
        items.extend(data[key])
        cursor = (data.get("pagination") or {}).get("next")
        if not cursor:
            return items
    raise AssertionError(f"{path}: pagination did not end")


def leaf_paths(value: Any, prefix: str = "") -> set[str]:
    """Dotted paths of every leaf in a JSON value (lists collapse to '[]')."""
    if isinstance(value, dict):
        out: set[str] = set()
        for k, v in value.items():
            out |= leaf_paths(v, f"{prefix}.{k}" if prefix else str(k))
        return out or {prefix}
    if isinstance(value, list):
        out = set()
        for v in value:
            out |= leaf_paths(v, f"{prefix}[]")
        return out or {prefix}
    return {prefix}
