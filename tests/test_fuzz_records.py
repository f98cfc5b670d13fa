"""Fuzzing: API objects generated from each stream's schema (a hypothesis strategy built from
the JSON schema) go through the tap's record path and come out valid, with every field kept
(secrets only masked). hypothesis-jsonschema 0.23 does not run on current hypothesis, so the
strategy is built here; it covers the schema keywords the generators emit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from tap_fivetran.tap import TapFivetran
from tap_segment.tap import TapSegment
from taps_common.redaction import REDACTED

ROOT = Path(__file__).resolve().parents[1]
CASES = [
    (TapSegment, {"token": "t"}, "segment", "sources", {"workspaceId": "ws"}),
    (TapSegment, {"token": "t"}, "segment", "audit_events", {"workspaceId": "ws"}),
    (TapSegment, {"token": "t"}, "segment", "credentials", {"workspaceId": "ws"}),
    (TapFivetran, {"api_key": "k", "api_secret": "s"}, "fivetran", "users", None),
    (TapFivetran, {"api_key": "k", "api_secret": "s"}, "fivetran", "webhooks", None),
    (TapFivetran, {"api_key": "k", "api_secret": "s"}, "fivetran", "connection_schemas", None),
]


SCALARS = {
    "string": st.text(max_size=12),
    "integer": st.integers(-(2**31), 2**31),
    "number": st.floats(allow_nan=False, allow_infinity=False, width=32),
    "boolean": st.booleans(),
    "null": st.none(),
}


def from_schema(schema: dict, depth: int = 0) -> st.SearchStrategy:
    """Values valid against ``schema``: every declared property present, nulls where allowed."""
    kinds = schema.get("type") or ["string"]
    kinds = kinds if isinstance(kinds, list) else [kinds]
    options = []
    for kind in kinds:
        if kind == "object":
            props = schema.get("properties") or {}
            if props and depth < 6:
                options.append(
                    st.fixed_dictionaries({k: from_schema(v, depth + 1) for k, v in props.items()})
                )
            else:
                options.append(
                    st.dictionaries(
                        st.sampled_from(["a", "password", "host"]), st.text(max_size=5), max_size=3
                    )
                )
        elif kind == "array":
            options.append(st.lists(from_schema(schema.get("items") or {}, depth + 1), max_size=2))
        elif kind == "string" and schema.get("format") == "date-time":
            options.append(st.datetimes().map(lambda d: d.isoformat() + "Z"))
        else:
            options.append(SCALARS[kind])
    return st.one_of(options)


def _paths(value, prefix=""):
    if isinstance(value, dict):
        out = {prefix} if prefix else set()
        for key, sub in value.items():
            out |= _paths(sub, f"{prefix}.{key}" if prefix else key)
        return out
    return {prefix}


@pytest.mark.parametrize(("tap_class", "config", "api", "stream", "context"), CASES)
def test_generated_objects_keep_every_field_and_validate(tap_class, config, api, stream, context):
    tap = tap_class(config=config, validate_config=False)
    target = tap.streams[stream]
    schema = json.loads((ROOT / "schemas" / api / f"{stream}.json").read_text())
    validator = Draft7Validator(schema)

    @settings(
        max_examples=25, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
    )
    @given(from_schema(schema))
    def check(record):
        before = _paths(record)
        out = target.post_process(json.loads(json.dumps(record)), context)
        assert out is not None
        after = _paths(out)
        redacted = {p for p in before if _is_masked(out, p)}
        missing = before - after - redacted
        assert not missing, f"fields dropped: {sorted(missing)[:5]}"
        validator.validate(out)

    check()


def _is_masked(record, path):
    node = record
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
        if node == REDACTED or (isinstance(node, list) and REDACTED in node):
            return True
    return False
