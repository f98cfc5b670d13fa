"""schemas/fivetran agrees with the OpenAPI spec and with the stream contract."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest
from jsonschema import Draft7Validator

from tests import contract

ROOT = Path(__file__).resolve().parents[1]
SPEC = json.loads((ROOT / "specs" / "fivetran-rest-api.json").read_text())
SCHEMA_DIR = ROOT / "schemas" / "fivetran"


def _spec_path(endpoint: str | None) -> str | None:
    """The spec's path for a contract endpoint ({id} vs {connectionId}); None if undocumented."""
    found = [path for path in SPEC["paths"] if endpoint and contract.same_path(path, endpoint)]
    return found[0] if found else None


# The contract (STREAMS.md): stream -> (spec endpoint whose model it carries, primary key).
# Streams cut from another stream's response (tables, columns) and the docs-only sync history
# have no spec endpoint of their own.
CONTRACT = {
    name: (_spec_path(row.endpoint), list(row.primary_key))
    for name, row in contract.streams("tap-fivetran").items()
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


GENERATOR = _load_generator()
GENERATED = GENERATOR.build_schemas()


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
    files = {p.stem for p in SCHEMA_DIR.glob("*.json")}
    assert set(CONTRACT) <= files, sorted(set(CONTRACT) - files)
    assert files - set(CONTRACT) <= contract.ALLOWED_EXTRA, sorted(files - set(CONTRACT))


def test_contract_endpoints_are_in_the_spec():
    """Every stream with an endpoint of its own is found in the spec, except the one the
    contract calls docs-only (sync history): a typo in STREAMS.md or the spec fails here."""
    missing = {name for name, (path, _) in CONTRACT.items() if path is None}
    reused = {
        name
        for name, row in contract.streams("tap-fivetran").items()
        if not row.endpoints  # "the same response, one record per table"
    }
    assert missing - reused == {"connection_sync_history"}


@pytest.mark.parametrize("stream", sorted(CONTRACT))
def test_spec_timestamps_stay_date_time(stream):
    """Every field the spec formats as date-time keeps the format (targets type it TIMESTAMP)."""
    path, _ = CONTRACT[stream]
    if path is None:
        pytest.skip("no spec endpoint of its own")
    schema = next(iter(SPEC["paths"][path]["get"]["responses"]["200"]["content"].values()))[
        "schema"
    ]
    data = _deref(_deref(schema)["properties"]["data"])
    items = data.get("properties", {}).get("items")
    model = _deref(items["items"]) if items else data
    declared = json.loads((SCHEMA_DIR / f"{stream}.json").read_text())["properties"]
    for name in _props(model):
        field = _field(model, name)
        if field.get("format") == "date-time":
            renamed = RENAMED.get(name, set()) & set(declared)
            target = declared.get(name) or (declared[next(iter(renamed))] if renamed else {})
            assert target.get("format") == "date-time", f"{stream}.{name}"


def _field(node, name):
    node = _deref(node)
    if name in node.get("properties", {}):
        return _deref(node["properties"][name])
    for part in node.get("allOf", []):
        found = _field(part, name)
        if found:
            return found
    return {}


@pytest.mark.parametrize("stream", sorted(CONTRACT))
def test_file_is_what_the_generator_makes(stream):
    on_disk = json.loads((SCHEMA_DIR / f"{stream}.json").read_text())
    assert on_disk == GENERATED[stream], "re-run: python scripts/generate_fivetran_schemas.py"


def test_endpoint_limits_module_is_what_the_generator_makes():
    """tap_fivetran/endpoints.py is written from the stream classes and the spec."""
    module = ROOT / "tap_fivetran" / "endpoints.py"
    assert module.read_text() == GENERATOR.endpoints_module(SPEC), (
        "re-run: python scripts/generate_fivetran_schemas.py"
    )


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
