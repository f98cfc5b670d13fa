"""The tap-segment schema files agree with their generator, the API spec and the stream contract.

The contract is read from STREAMS.md (tests/contract.py), the independent side: a drift in the
generator's table (a renamed stream, a lost key, another endpoint) fails here.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import jsonschema
import pytest

from tests import contract
from tests.datetimes import date_time_paths

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "schemas" / "segment"
GENERATOR = ROOT / "scripts" / "generate_segment_schemas.py"
SPEC = ROOT / "specs" / "segment-public-api.v73.2.0.derived.json"
REGENERATE = "re-run `python scripts/generate_segment_schemas.py`"

CONTRACT = contract.streams("tap-segment")

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


def parent_key(stream: str) -> str | None:
    """A child's parent key is the placeholder of its contract endpoint ({sourceId})."""
    spec = CONTRACT[stream]
    if spec.parent is None:
        return None
    [name] = re.findall(r"\{(\w+)\}", spec.endpoint or "")
    return name


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


def schema_files() -> set[str]:
    return {p.stem for p in SCHEMA_DIR.glob("*.json")}


def test_the_contract_is_read_from_streams_md() -> None:
    """The parsed table is the one in STREAMS.md, not an empty or partial read."""
    text = contract.STREAMS_MD.read_text(encoding="utf-8")
    section = text.split("## tap-segment", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    assert len(CONTRACT) == len(rows) > 0


def test_exactly_the_contract_files_exist() -> None:
    files = schema_files()
    missing = set(STREAMS) - files
    extra = files - set(STREAMS) - contract.ALLOWED_EXTRA
    assert not missing, f"no schema file for {sorted(missing)}; {REGENERATE}"
    assert not extra, f"schema files the contract does not name: {sorted(extra)}"


def test_generator_covers_the_contract(built: dict[str, dict]) -> None:
    assert set(STREAMS) <= set(built)
    assert set(built) - set(STREAMS) <= contract.ALLOWED_EXTRA


@pytest.mark.parametrize("stream", sorted(schema_files() | set(STREAMS)))
def test_file_matches_generator(stream: str, built: dict[str, dict], generator: ModuleType) -> None:
    path = SCHEMA_DIR / f"{stream}.json"
    assert path.exists(), f"{path} is missing; {REGENERATE}"
    assert stream in built, f"{path} is not made by the generator"
    assert on_disk(stream) == built[stream], f"{path} is stale; {REGENERATE}"
    assert path.read_text(encoding="utf-8") == generator.render(built[stream]), (
        f"{path} is not in the generator's layout; {REGENERATE}"
    )


def test_endpoint_limits_module_matches_generator(generator: ModuleType, api_spec: dict) -> None:
    """tap_segment/endpoints.py is written from the stream classes and the spec."""
    module = ROOT / "tap_segment" / "endpoints.py"
    assert module.read_text(encoding="utf-8") == generator.endpoints_module(api_spec), (
        f"{module} is stale; {REGENERATE}"
    )


@pytest.mark.parametrize("stream", STREAMS)
def test_valid_draft7(stream: str) -> None:
    jsonschema.Draft7Validator.check_schema(on_disk(stream))


@pytest.mark.parametrize("stream", STREAMS)
def test_root_shape(stream: str) -> None:
    schema = on_disk(stream)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is True
    assert CONTRACT[stream].endpoint in schema["description"]


def _operation(api_spec: dict, generator: ModuleType, stream: str) -> dict:
    source = generator.STREAMS[stream]
    [op] = [o for o in api_spec["get_operations"] if o["operationId"] == source.operation_id]
    return op


@pytest.mark.parametrize("stream", STREAMS)
def test_generator_reads_the_contract_endpoint(
    stream: str, api_spec: dict, generator: ModuleType
) -> None:
    """The operation the generator builds the schema from is the contract's endpoint."""
    op = _operation(api_spec, generator, stream)
    assert contract.same_path(op["path"], CONTRACT[stream].endpoint), (stream, op["path"])


@pytest.mark.parametrize("stream", STREAMS)
def test_endpoint_serves_the_model(stream: str, api_spec: dict, generator: ModuleType) -> None:
    """The contract's endpoint really returns the model the schema was built from."""
    model = generator.STREAMS[stream].model
    [op] = [o for o in api_spec["get_operations"] if o["path"] == CONTRACT[stream].endpoint]
    served = {*op["item_models"], op.get("data_model")} | {k["type"] for k in op["single_keys"]}
    assert (model or "string") in served


@pytest.mark.parametrize("stream", STREAMS)
def test_every_model_field_declared(stream: str, api_spec: dict, generator: ModuleType) -> None:
    model = generator.STREAMS[stream].model
    props = on_disk(stream)["properties"]
    fields = {p["name"] for p in api_spec["models"][model]["properties"]} if model else set()
    expected = (fields - DROPPED_FIELDS.get(stream, set())) | EXTRA_FIELDS.get(stream, set())
    missing = expected - set(props)
    assert not missing, f"{stream}: fields of {model} not declared: {sorted(missing)}"
    assert not DROPPED_FIELDS.get(stream, set()) & set(props)


@pytest.mark.parametrize("stream", STREAMS)
def test_keys_are_present_and_non_null(stream: str) -> None:
    parent = parent_key(stream)
    props = on_disk(stream)["properties"]
    for key in (*CONTRACT[stream].primary_key, "workspaceId", *([parent] if parent else [])):
        assert key in props, f"{stream}: key field {key!r} is not declared"
        types = types_of(props[key])
        assert types, f"{stream}.{key} has no type"
        assert "null" not in types, f"{stream}.{key} must be non-null"
    assert types_of(props["workspaceId"]) == ["string"]


@pytest.mark.parametrize("stream", STREAMS)
def test_non_key_fields_are_nullable(stream: str, generator: ModuleType) -> None:
    # Where the contract's key ends in prose ("and each groupBy value"), the generator names it.
    named = CONTRACT[stream].primary_key
    keys = {*named, *generator.STREAMS[stream].primary_keys, "workspaceId", parent_key(stream)}
    props = on_disk(stream)["properties"]
    for name, prop in props.items():
        if name not in keys and "type" in prop:
            assert "null" in types_of(prop), f"{stream}.{name} should be nullable"


# What the spec's descriptions say of a point in time ("The timestamp of this rule's creation",
# "in the ISO-8601 format", "(RFC3339)", "The time this Credential was created", "Date the
# audience was created"). The descriptions are copied into the schema, so each file shows why.
TIME_WORDS = re.compile(r"ISO[- ]?8601|RFC ?3339|timestamp|\btime\b|\bdate\b", re.IGNORECASE)
# Names of the timestamps a warehouse user compares (issue 12): date-time wherever declared.
NAMED_TIMESTAMPS = {"createdAt", "updatedAt", "finishedAt", "deprecatedAt", "timestamp"}
POINT_NAMES = {"start", "end", "time", "nextExecution"}  # SyncV1, datapoints, schedules


def _walk(props: dict, where: str):
    for name, prop in props.items():
        yield f"{where}.{name}", name, prop
        yield from _walk(prop.get("properties") or {}, f"{where}.{name}")
        items = prop.get("items") or {}
        yield from _walk(items.get("properties") or {}, f"{where}.{name}[]")


@pytest.mark.parametrize("stream", STREAMS)
def test_documented_timestamps_are_date_time(stream: str) -> None:
    """A field the API documents as a timestamp is declared date-time, so targets type it
    TIMESTAMP; the contract's replication key too; nothing else is (no zone names, numbers)."""
    props = on_disk(stream)["properties"]
    replication_key = CONTRACT[stream].replication_key
    if CONTRACT[stream].incremental:
        assert replication_key, f"{stream}: the contract names no replication key"
        assert props[replication_key].get("format") == "date-time", stream
    declared = set(date_time_paths({"properties": props}))
    for path, name, prop in _walk(props, stream):
        relative = path.split(".", 1)[1]
        is_time = "string" in types_of(prop) and (
            bool(TIME_WORDS.search(prop.get("description") or ""))
            and (name in NAMED_TIMESTAMPS or name.endswith("At") or name in POINT_NAMES)
        )
        if name in NAMED_TIMESTAMPS and "string" in types_of(prop):
            assert relative in declared, f"{path} is a timestamp but not date-time"
        if is_time:
            assert relative in declared, f"{path} is documented as a timestamp: {prop}"
        if relative in declared:
            assert types_of(prop) in (["string"], ["string", "null"]), path
            assert is_time or name == replication_key, f"{path} is date-time without cause"


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
