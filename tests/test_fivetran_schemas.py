"""schemas/fivetran agrees with the OpenAPI spec and with the stream contract."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parents[1]
SPEC = json.loads((ROOT / "specs" / "fivetran-rest-api.json").read_text())
SCHEMA_DIR = ROOT / "schemas" / "fivetran"

# The contract (STREAMS.md): stream -> (endpoint whose model it carries, primary key).
CONTRACT = {
    "accounts": ("/v1/account/info", ["account_id"]),
    "groups": ("/v1/groups", ["id"]),
    "destinations": ("/v1/destinations", ["id"]),
    "destination_certificates": (
        "/v1/destinations/{destinationId}/certificates",
        ["destination_id", "id"],
    ),
    "destination_fingerprints": (
        "/v1/destinations/{destinationId}/fingerprints",
        ["destination_id", "id"],
    ),
    "connections": ("/v1/connections", ["id"]),
    "connection_schemas": ("/v1/connections/{connectionId}/schemas", ["connection_id"]),
    "connection_tables": (None, ["connection_id", "schema_name", "table_name"]),
    "connection_columns": (None, ["connection_id", "schema_name", "table_name", "column_name"]),
    "connection_certificates": (
        "/v1/connections/{connectionId}/certificates",
        ["connection_id", "id"],
    ),
    "connection_fingerprints": (
        "/v1/connections/{connectionId}/fingerprints",
        ["connection_id", "id"],
    ),
    "users": ("/v1/users", ["id"]),
    "user_group_memberships": ("/v1/users/{userId}/groups", ["user_id", "group_id"]),
    "user_connection_memberships": ("/v1/users/{userId}/connections", ["user_id", "connection_id"]),
    "teams": ("/v1/teams", ["id"]),
    "team_user_memberships": ("/v1/teams/{teamId}/users", ["team_id", "user_id"]),
    "team_group_memberships": ("/v1/teams/{teamId}/groups", ["team_id", "group_id"]),
    "team_connection_memberships": ("/v1/teams/{teamId}/connections", ["team_id", "connection_id"]),
    "roles": ("/v1/roles", ["name"]),
    "webhooks": ("/v1/webhooks", ["id"]),
    "system_keys": ("/v1/system-keys", ["id"]),
    "transformations": ("/v1/transformations", ["id"]),
    "transformation_projects": ("/v1/transformation-projects", ["id"]),
    "private_links": ("/v1/private-links", ["id"]),
    "proxy_agents": ("/v1/proxy", ["id"]),
    "proxy_agent_connections": ("/v1/proxy/{agentId}/connections", ["agent_id", "connection_id"]),
    "hybrid_deployment_agents": ("/v1/hybrid-deployment-agents", ["id"]),
    "log_services": ("/v1/external-logging", ["id"]),
    "external_secrets_managers": ("/v1/external-secrets-managers", ["id"]),
    "connector_sdk_packages": ("/v1/connector-sdk/packages", ["id"]),
    "connector_types": ("/v1/metadata/connector-types", ["id"]),
    "connection_sync_history": (None, ["connection_id", "start_time"]),
}
RENAMED = {"id": {"group_id", "connection_id"}}  # membership items name the other side "id"
MODELS = SPEC["components"]["schemas"]


def _load_generator():
    path = ROOT / "scripts" / "generate_fivetran_schemas.py"
    spec = importlib.util.spec_from_file_location("generate_fivetran_schemas", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


GENERATED = _load_generator().build_schemas()


def _deref(node):
    while "$ref" in node:
        node = MODELS[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _props(node) -> set[str]:
    node = _deref(node)
    names = set(node.get("properties", {}))
    for part in node.get("allOf", []):
        names |= _props(part)
    return names


def spec_fields(path: str) -> set[str]:
    """Top-level fields of the item (or data) model of GET path, read independently."""
    schema = next(iter(SPEC["paths"][path]["get"]["responses"]["200"]["content"].values()))[
        "schema"
    ]
    data = _deref(_deref(schema)["properties"]["data"])
    items = data.get("properties", {}).get("items")
    return _props(items["items"]) if items else _props(data)


def test_exactly_the_contract_streams_have_files():
    assert sorted(p.stem for p in SCHEMA_DIR.glob("*.json")) == sorted(CONTRACT)


@pytest.mark.parametrize("stream", sorted(CONTRACT))
def test_file_is_what_the_generator_makes(stream):
    on_disk = json.loads((SCHEMA_DIR / f"{stream}.json").read_text())
    assert on_disk == GENERATED[stream], "re-run: python scripts/generate_fivetran_schemas.py"


@pytest.mark.parametrize("stream", sorted(CONTRACT))
def test_schema_is_valid_and_keys_are_non_null(stream):
    schema = json.loads((SCHEMA_DIR / f"{stream}.json").read_text())
    Draft7Validator.check_schema(schema)
    for key in CONTRACT[stream][1]:
        assert key in schema["properties"], f"{stream}: key {key} not declared"
        assert "null" not in schema["properties"][key]["type"], f"{stream}: key {key} nullable"


@pytest.mark.parametrize("stream", sorted(s for s, (p, _) in CONTRACT.items() if p))
def test_every_spec_field_is_declared(stream):
    path, _ = CONTRACT[stream]
    declared = set(json.loads((SCHEMA_DIR / f"{stream}.json").read_text())["properties"])
    missing = set()
    for name in spec_fields(path):
        if name not in declared and not (RENAMED.get(name, set()) & declared):
            missing.add(name)
    assert not missing, f"{stream}: spec fields not in schema: {sorted(missing)}"


def test_schema_config_levels_follow_the_spec_models():
    tables = set(json.loads((SCHEMA_DIR / "connection_tables.json").read_text())["properties"])
    columns = set(json.loads((SCHEMA_DIR / "connection_columns.json").read_text())["properties"])
    assert _props(MODELS["TableConfigResponse"]) - {"columns"} <= tables
    assert "columns" not in tables
    assert _props(MODELS["ColumnConfigResponse"]) <= columns
