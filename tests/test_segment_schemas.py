"""The tap-segment schema files agree with their generator, the API spec and the stream contract.

The contract below is typed in from shared/STREAMS.md on purpose: it is the independent side,
so a drift in the generator's table (a renamed stream, a lost key) fails here.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "schemas" / "segment"
GENERATOR = ROOT / "scripts" / "generate_segment_schemas.py"
SPEC = ROOT / "specs" / "segment-public-api.v73.2.0.derived.json"
REGENERATE = "re-run `python scripts/generate_segment_schemas.py`"

# stream -> (endpoint path, primary key, item model (None: plain strings or scalar), parent key)
CONTRACT: dict[str, tuple[str, tuple[str, ...], str | None, str | None]] = {
    "workspaces": ("/", ("id",), "WorkspaceV1", None),
    "sources": ("/sources", ("id",), "SourceV1", None),
    "source_settings": (
        "/sources/{sourceId}/settings",
        ("sourceId",),
        "SourceSettingsOutputV1",
        "sourceId",
    ),
    "source_connected_warehouses": (
        "/sources/{sourceId}/connected-warehouses",
        ("sourceId", "id"),
        "WarehouseV1",
        "sourceId",
    ),
    "destinations": ("/destinations", ("id",), "DestinationV1", None),
    "destination_filters": (
        "/destination/{destinationId}/filters",
        ("id",),
        "DestinationFilterV1",
        "destinationId",
    ),
    "destination_subscriptions": (
        "/destinations/{destinationId}/subscriptions",
        ("id",),
        "DestinationSubscription",
        "destinationId",
    ),
    "warehouses": ("/warehouses", ("id",), "WarehouseV1", None),
    "warehouse_connection_states": (
        "/warehouses/{warehouseId}/connection-state",
        ("warehouseId",),
        None,
        "warehouseId",
    ),
    "warehouse_syncs": (
        "/warehouses/{warehouseId}/syncs",
        ("warehouseId", "sourceId", "start"),
        "SyncV1",
        "warehouseId",
    ),
    "tracking_plans": ("/tracking-plans", ("id",), "TrackingPlanV1", None),
    "tracking_plan_rules": (
        "/tracking-plans/{trackingPlanId}/rules",
        ("trackingPlanId", "type", "key", "version"),
        "RuleV1",
        "trackingPlanId",
    ),
    "tracking_plan_sources": (
        "/tracking-plans/{trackingPlanId}/sources",
        ("trackingPlanId", "id"),
        "SourceV1",
        "trackingPlanId",
    ),
    "transformations": ("/transformations", ("id",), "TransformationV1", None),
    "functions": ("/functions", ("id",), "ListFunctionItemV1", None),
    "users": ("/users", ("id",), "UserV1", None),
    "user_groups": ("/groups", ("id",), "UserGroupV1", None),
    "user_group_members": (
        "/groups/{userGroupId}/users",
        ("userGroupId", "id"),
        "MinimalUserV1",
        "userGroupId",
    ),
    "user_group_invites": (
        "/groups/{userGroupId}/invites",
        ("userGroupId", "email"),
        None,
        "userGroupId",
    ),
    "roles": ("/roles", ("id",), "RoleV1", None),
    "invites": ("/invites", ("email",), None, None),
    "labels": ("/labels", ("key", "value"), "LabelV1", None),
    "audit_events": ("/audit-events", ("id",), "AuditEventV1", None),
    "regulations": ("/regulations", ("id",), "RegulationListEntryV1", None),
    "suppressions": ("/suppressions", ("subjectType", "subjectId"), "SuppressedInner", None),
    "credentials": ("/credentials", ("id",), "CredentialV1", None),
    "usage_api_calls_daily": (
        "/usage/api-calls/daily",
        ("timestamp",),
        "APICallSnapshotV1",
        None,
    ),
    "usage_api_calls_sources_daily": (
        "/usage/api-calls/sources/daily",
        ("sourceId", "timestamp"),
        "SourceAPICallSnapshotV1",
        None,
    ),
    "usage_mtu_daily": ("/usage/mtu/daily", ("timestamp",), "MtuSnapshotV1", None),
    "usage_mtu_sources_daily": (
        "/usage/mtu/sources/daily",
        ("sourceId", "timestamp"),
        "UsersPerSourceSnapshotV1",
        None,
    ),
    "spaces": ("/spaces", ("id",), "Space", None),
    "audiences": (
        "/spaces/{spaceId}/audiences",
        ("id",),
        "AudienceSummaryWithAudienceTypeAndLookback",
        "spaceId",
    ),
    "computed_traits": (
        "/spaces/{spaceId}/computed-traits",
        ("id",),
        "ComputedTraitSummary",
        "spaceId",
    ),
    "reverse_etl_models": ("/reverse-etl-models", ("id",), "ReverseEtlModel", None),
    "catalog_sources": ("/catalog/sources", ("id",), "SourceMetadataV1", None),
    "catalog_destinations": ("/catalog/destinations", ("id",), "DestinationMetadataV1", None),
    "catalog_warehouses": ("/catalog/warehouses", ("id",), "WarehouseMetadataV1", None),
    "events_volume": (
        "/events/volume",
        ("timestamp", "eventName", "eventType", "sourceId"),
        "SourceEventVolumeV1",
        None,
    ),
}

REPLICATION_KEYS = {
    "audit_events": "timestamp",
    "usage_api_calls_daily": "timestamp",
    "usage_api_calls_sources_daily": "timestamp",
    "usage_mtu_daily": "timestamp",
    "usage_mtu_sources_daily": "timestamp",
    "events_volume": "timestamp",
}

# Fields the record carries besides its model's (contract notes), and model fields it drops.
EXTRA_FIELDS = {
    "invites": {"email"},
    "user_group_invites": {"email"},
    "warehouse_connection_states": {"connectionState"},
    "suppressions": {"subjectId"},
    "usage_api_calls_daily": {"period"},
    "usage_api_calls_sources_daily": {"period"},
    "usage_mtu_daily": {"period"},
    "usage_mtu_sources_daily": {"period"},
}
DROPPED_FIELDS = {"suppressions": {"subjectIds"}}

STREAMS = sorted(CONTRACT)


def load_generator() -> ModuleType:
    """scripts/ is not a package: load the generator from its file."""
    spec = importlib.util.spec_from_file_location("generate_segment_schemas", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    return load_generator()


@pytest.fixture(scope="module")
def built(generator: ModuleType) -> dict[str, dict]:
    return generator.build_schemas()


@pytest.fixture(scope="module")
def api_spec() -> dict:
    return json.loads(SPEC.read_text(encoding="utf-8"))


def on_disk(stream: str) -> dict:
    return json.loads((SCHEMA_DIR / f"{stream}.json").read_text(encoding="utf-8"))


def types_of(prop: dict) -> list[str]:
    types = prop.get("type")
    return [types] if isinstance(types, str) else list(types or [])


def test_contract_has_38_streams() -> None:
    assert len(CONTRACT) == 38


def test_exactly_the_contract_files_exist() -> None:
    files = sorted(p.stem for p in SCHEMA_DIR.glob("*.json"))
    assert len(files) == 38, f"expected 38 schema files in {SCHEMA_DIR}, found {len(files)}"
    assert files == STREAMS, f"schema files differ from the contract; {REGENERATE}"


def test_generator_covers_the_contract(built: dict[str, dict]) -> None:
    assert sorted(built) == STREAMS


@pytest.mark.parametrize("stream", STREAMS)
def test_file_matches_generator(stream: str, built: dict[str, dict], generator: ModuleType) -> None:
    path = SCHEMA_DIR / f"{stream}.json"
    assert path.exists(), f"{path} is missing; {REGENERATE}"
    assert on_disk(stream) == built[stream], f"{path} is stale; {REGENERATE}"
    assert path.read_text(encoding="utf-8") == generator.render(built[stream]), (
        f"{path} is not in the generator's layout; {REGENERATE}"
    )


@pytest.mark.parametrize("stream", STREAMS)
def test_valid_draft7(stream: str) -> None:
    jsonschema.Draft7Validator.check_schema(on_disk(stream))


@pytest.mark.parametrize("stream", STREAMS)
def test_root_shape(stream: str) -> None:
    schema = on_disk(stream)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is True
    assert CONTRACT[stream][0] in schema["description"]


@pytest.mark.parametrize("stream", STREAMS)
def test_endpoint_serves_the_model(stream: str, api_spec: dict) -> None:
    """The contract's endpoint really returns the model the schema was built from."""
    path, _, model, _ = CONTRACT[stream]
    [op] = [o for o in api_spec["get_operations"] if o["path"] == path]
    served = set(op["item_models"]) | {k["type"] for k in op["single_keys"]}
    assert (model or "string") in served


@pytest.mark.parametrize("stream", STREAMS)
def test_every_model_field_declared(stream: str, api_spec: dict) -> None:
    _, _, model, _ = CONTRACT[stream]
    props = on_disk(stream)["properties"]
    fields = {p["name"] for p in api_spec["models"][model]["properties"]} if model else set()
    expected = (fields - DROPPED_FIELDS.get(stream, set())) | EXTRA_FIELDS.get(stream, set())
    missing = expected - set(props)
    assert not missing, f"{stream}: fields of {model} not declared: {sorted(missing)}"
    assert not DROPPED_FIELDS.get(stream, set()) & set(props)


@pytest.mark.parametrize("stream", STREAMS)
def test_keys_are_present_and_non_null(stream: str) -> None:
    _, primary_keys, _, parent_key = CONTRACT[stream]
    props = on_disk(stream)["properties"]
    for key in (*primary_keys, "workspaceId", *([parent_key] if parent_key else [])):
        assert key in props, f"{stream}: key field {key!r} is not declared"
        types = types_of(props[key])
        assert types, f"{stream}.{key} has no type"
        assert "null" not in types, f"{stream}.{key} must be non-null"
    assert types_of(props["workspaceId"]) == ["string"]


@pytest.mark.parametrize("stream", STREAMS)
def test_non_key_fields_are_nullable(stream: str) -> None:
    _, primary_keys, _, parent_key = CONTRACT[stream]
    keys = {*primary_keys, "workspaceId", parent_key}
    props = on_disk(stream)["properties"]
    for name, prop in props.items():
        if name not in keys and "type" in prop:
            assert "null" in types_of(prop), f"{stream}.{name} should be nullable"


@pytest.mark.parametrize("stream", STREAMS)
def test_only_replication_keys_are_date_time(stream: str) -> None:
    found: list[str] = []

    def walk(node: object, where: str) -> None:
        if isinstance(node, dict):
            if node.get("format") == "date-time":
                found.append(where)
            for key, value in node.items():
                walk(value, f"{where}.{key}")

    walk(on_disk(stream)["properties"], stream)
    expected = REPLICATION_KEYS.get(stream)
    assert found == ([f"{stream}.{expected}"] if expected else [])


@pytest.mark.parametrize("stream", STREAMS)
def test_no_enum_or_pattern_constraints(stream: str) -> None:
    text = (SCHEMA_DIR / f"{stream}.json").read_text(encoding="utf-8")
    assert '"enum":' not in text
    assert '"pattern":' not in text


def test_free_form_objects_stay_whole() -> None:
    settings = on_disk("sources")["properties"]["settings"]
    assert settings == {
        "additionalProperties": True,
        "description": settings["description"],
        "type": ["object", "null"],
    }
    rule_schema = on_disk("tracking_plan_rules")["properties"]["jsonSchema"]
    assert types_of(rule_schema) == ["object", "null"]
    assert "properties" not in rule_schema


def test_recursion_guard(generator: ModuleType) -> None:
    """A self-referencing model ends in a free-form object instead of looping."""
    models = {
        "Node": {
            "kind": "object",
            "properties": [
                {"name": "name", "type": "string", "required": True},
                {"name": "children", "type": "array<Node>", "required": False},
            ],
        }
    }
    schema = generator.model_schema("Node", models)
    child = schema["properties"]["children"]["items"]
    assert child == {"type": ["object"], "additionalProperties": True}
