"""Generate schemas/fivetran/<stream>.json and tap_fivetran/endpoints.py from the stream
classes (tap_fivetran/streams.py: path, detail path, keys, renamed fields, the parent key in
the path) and the Fivetran OpenAPI spec (specs/).

Each stream's schema is the item (list endpoints) or data (object endpoints) model of its
endpoint's 200 response, with $refs resolved and allOf merged, every field nullable except the
contract's primary keys, and the parent keys the tap adds. Per-service ``config`` unions stay
free-form objects. Timestamps keep the spec's ``format: date-time`` (targets type them
TIMESTAMP). Re-run after updating the spec; tests/test_fivetran_schemas.py fails when the files
and the spec disagree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts import endpoint_tables
from tap_fivetran.client import FivetranStream
from tap_fivetran.streams import stream_types
from taps_common.endpoint_limits import EndpointLimit, RateLimit

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "fivetran-rest-api.json"
OUT = ROOT / "schemas" / "fivetran"
ENDPOINTS_MODULE = ROOT / "tap_fivetran" / "endpoints.py"

FREE_FORM = {"type": ["object", "null"], "additionalProperties": True}
STRING_KEY = {"type": ["string"]}
# Per-service unions (773 connection variants) and name-keyed maps (the schema config's
# "schemas", which the spec writes as an object with one placeholder property).
FREE_FORM_FIELDS = frozenset({"config", "schemas"})


@dataclass(frozen=True)
class Source:
    """Where a stream's records come from and what the tap adds or renames."""

    paths: tuple[str, ...]  # endpoints whose models are merged (list item + detail)
    keys: tuple[str, ...]
    add: dict[str, dict] = field(default_factory=dict)  # fields the tap adds
    rename: dict[str, str] = field(default_factory=dict)  # item field -> record field
    note: str = ""


MEMBERSHIP = "MembershipResponse items name the other side 'id'; the record renames it."

# What a schema says beyond its endpoints' models: the one table entry a new stream may need
# (most need none). Everything else comes from the stream classes (tap_fivetran/streams.py:
# path, detail path, primary keys, renamed fields, the parent key in the path) and the spec.
NOTES: dict[str, str] = {
    "connection_schemas": "One record per connection: the whole schema config (schemas map "
    "kept whole).",
    "connection_tables": "One record per table of the schema config; its columns are "
    "connection_columns.",
    "connection_columns": "One record per column the schema config lists (user-overridden "
    "columns).",
    "user_group_memberships": MEMBERSHIP,
    "user_connection_memberships": MEMBERSHIP,
    "team_group_memberships": MEMBERSHIP,
    "team_connection_memberships": MEMBERSHIP,
}
# Streams whose schema is written by hand (their endpoint is not in the spec snapshot).
HAND_WRITTEN = ("connection_sync_history",)


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def spec_path(spec: dict[str, Any], template: str) -> str:
    """The spec's own template for a stream's path (placeholder names differ)."""
    [found] = [p for p in spec["paths"] if _shape(p) == _shape(template)]
    return found


def stream_source(stream: type[FivetranStream], spec: dict[str, Any]) -> Source:
    """A stream class read against the spec. A stream with no path of its own is derived from
    its parent's response (tables and columns of the schema config)."""
    parent = stream.parent_stream_type
    own = stream.path or (parent.path if parent else "")
    paths = tuple(spec_path(spec, p) for p in (own, stream.detail_path) if p)
    added = re.findall(r"\{(\w+)\}", stream.path) if stream.path else []
    return Source(
        paths,
        tuple(stream.primary_keys or ()),
        add={name: dict(STRING_KEY) for name in added},
        rename=dict(stream.rename_fields or {}),
        note=NOTES.get(stream.name, ""),
    )


def stream_sources(spec: dict[str, Any]) -> dict[str, Source]:
    """Stream name -> where its records come from, for every stream the tap declares."""
    unknown = set(NOTES) - {stream.name for stream in stream_types()}
    if unknown:
        raise ValueError(f"NOTES names streams the tap does not declare: {sorted(unknown)}")
    return {
        stream.name: stream_source(stream, spec)
        for stream in stream_types()
        if stream.name not in HAND_WRITTEN
    }


# Not in the spec snapshot (docs-only endpoint): hand-written, open to fields the spec lacks.
SYNC_HISTORY = {
    "description": "GET /v1/connections/{connectionId}/sync-history (docs-only endpoint, not in "
    "the spec snapshot); additional fields are kept.",
    "type": "object",
    "additionalProperties": True,
    "properties": {
        "connection_id": {"type": ["string"]},
        "start_time": {"type": ["string"], "format": "date-time"},
        "end_time": {"type": ["string", "null"], "format": "date-time"},
        "id": {"type": ["string", "null"]},
        "status": {"type": ["string", "null"]},
        "sync_type": {"type": ["string", "null"]},
        "extra": {
            "type": ["object", "null"],
            "additionalProperties": True,
            "description": "Fields the API sends that this schema does not list yet.",
        },
    },
}


# Where the spec contradicts its own examples, the schema accepts both shapes. The spec types
# SetupTestResultResponse.details as an object, but the example it gives for that very field
# (and the connection examples in specs/examples/fivetran) is a sentence: a string.
BOTH_SHAPES = {"details": {"type": ["object", "string", "null"], "additionalProperties": True}}


def _accept_example_shapes(props: dict[str, Any]) -> None:
    """setup_tests[].details may be an object or a string (see BOTH_SHAPES)."""
    tests = props.get("setup_tests") or {}
    item = (tests.get("items") or {}).get("properties") or {}
    for name, schema in BOTH_SHAPES.items():
        if name in item:
            item[name] = dict(schema)


class Converter:
    """OpenAPI 3.0 model -> nullable JSON schema for Singer, with $refs resolved."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.spec = spec

    def deref(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` chains; the result remembers the last ref (``__ref__``)."""
        seen = 0
        ref = None
        while "$ref" in node:
            ref = node["$ref"]
            node = self.spec["components"]["schemas"][ref.rsplit("/", 1)[-1]]
            seen += 1
            if seen > 50:
                raise ValueError(f"$ref loop at {ref}")
        return {**node, "__ref__": ref} if ref and "discriminator" in node else node

    def merged_object(self, node: dict[str, Any], stack: tuple[str, ...]) -> dict[str, Any]:
        """Properties of an object model, allOf merged and oneOf/anyOf variants united."""
        node = self.deref(node)
        props: dict[str, Any] = {}
        for part in node.get("allOf", []):
            props.update(self.merged_object(part, stack))
        for union in ("oneOf", "anyOf"):
            for part in node.get(union, []):
                for name, sub in self.merged_object(part, stack).items():
                    props.setdefault(name, sub)
        for name, sub in (node.get("properties") or {}).items():
            props[name] = sub
        # A discriminator (per service / type) maps to variants that add fields to this base,
        # such as the per-service ``config``: the record may carry any of them.
        base_ref = node.get("__ref__")
        for target in sorted(set((node.get("discriminator") or {}).get("mapping", {}).values())):
            variant = self.spec["components"]["schemas"][target.rsplit("/", 1)[-1]]
            for part in variant.get("allOf", [variant]):
                if part.get("$ref") == base_ref:
                    continue
                for name, sub in self.merged_object(part, stack).items():
                    props.setdefault(name, sub)
        return props

    def convert(self, node: dict[str, Any], name: str, stack: tuple[str, ...] = ()) -> dict:
        """One property's schema, nullable."""
        ref = node.get("$ref", "")
        if ref and ref in stack:  # recursion guard: a repeated model becomes free-form
            return dict(FREE_FORM)
        stack = (*stack, ref) if ref else stack
        node = self.deref(node)
        if name in FREE_FORM_FIELDS:
            return dict(FREE_FORM)
        kind = node.get("type")
        if kind == "array":
            return {
                "type": ["array", "null"],
                "items": self.convert(node.get("items", {}), "", stack),
            }
        if kind == "object" or "properties" in node or "allOf" in node or "oneOf" in node:
            props = self.merged_object(node, stack)
            if not props:
                if kind in (None, "object") and any(k in node for k in ("oneOf", "anyOf")):
                    return dict(FREE_FORM)
                return dict(FREE_FORM)
            return {
                "type": ["object", "null"],
                "properties": {k: self.convert(v, k, stack) for k, v in sorted(props.items())},
                "additionalProperties": True,
            }
        if kind in ("string", "integer", "number", "boolean"):
            out: dict[str, Any] = {"type": [kind, "null"]}
            if kind == "string" and node.get("format") == "date-time":
                out["format"] = "date-time"
            return out
        return {}

    def response_model(self, path: str) -> tuple[dict[str, Any], str]:
        """(item model, 'list'|'object') of GET ``path``'s 200 response."""
        op = self.spec["paths"][path]["get"]
        content = op["responses"]["200"]["content"]
        schema = self.deref(next(iter(content.values()))["schema"])
        data = self.deref(self.merged_object(schema, ()).get("data", schema))
        items = self.merged_object(data, ()).get("items")
        if items is not None and self.deref(items).get("type") == "array":
            return self.deref(items)["items"], "list"
        return data, "object"


def build_schemas() -> dict[str, dict]:
    """Stream name -> schema, from the spec."""
    conv = Converter(json.loads(SPEC.read_text()))
    out: dict[str, dict] = {}
    for stream, source in stream_sources(conv.spec).items():
        props: dict[str, Any] = {}
        described = [f"GET {path}" for path in source.paths]
        if stream in ("connection_tables", "connection_columns"):
            props = _schema_config_level(conv, stream)
        else:
            for path in source.paths:
                model, _ = conv.response_model(path)
                for name, sub in conv.merged_object(model, ()).items():
                    props.setdefault(name, conv.convert(sub, name))
        for old, new in source.rename.items():
            if old in props:
                props[new] = props.pop(old)
        props.update(source.add)
        _accept_example_shapes(props)
        for key in source.keys:
            base = dict(props.get(key) or STRING_KEY)
            kinds = base.get("type", ["string"])
            base["type"] = [
                t for t in (kinds if isinstance(kinds, list) else [kinds]) if t != "null"
            ]
            props[key] = base
        out[stream] = {
            "description": "; ".join(described) + (f". {source.note}" if source.note else ""),
            "type": "object",
            "properties": dict(sorted(props.items())),
            "additionalProperties": True,
        }
    out["connection_sync_history"] = SYNC_HISTORY
    return out


def _schema_config_level(conv: Converter, stream: str) -> dict[str, Any]:
    """Table or column settings. The spec writes the name-keyed maps of the schema config as
    objects with one placeholder property ("schema", "table", "column") whose model is
    SchemaConfigResponse / TableConfigResponse / ColumnConfigResponse: use those models."""
    models = conv.spec["components"]["schemas"]
    names = {k: dict(STRING_KEY) for k in ("connection_id", "schema_name", "table_name")}
    if stream == "connection_tables":
        fields = conv.merged_object(models["TableConfigResponse"], ())
        fields = {k: v for k, v in fields.items() if k != "columns"}
    else:
        fields = conv.merged_object(models["ColumnConfigResponse"], ())
        names["column_name"] = dict(STRING_KEY)
    return {**{k: conv.convert(v, k) for k, v in fields.items()}, **names}


# The account allows 20,000 requests an hour in all (paid plans; shared research notes).
ACCOUNT_LIMIT = RateLimit(requests=20_000, seconds=3600)
# Documented endpoints the spec snapshot lacks: their rows are written here.
NOT_IN_SPEC = {
    "/v1/connections/{connectionId}/sync-history": EndpointLimit(
        "/v1/connections/{connectionId}/sync-history",
        note="documented, not in the spec snapshot: start_time/end_time at most 7 days apart",
    )
}


def endpoint_limit(spec: dict[str, Any], template: str) -> EndpointLimit:
    """A GET as the spec documents it: lists take ``limit`` (1..1000, the pagination docs say
    so for all), single objects take none; required query parameters as declared."""
    for path, limit in NOT_IN_SPEC.items():
        if _shape(path) == _shape(template):
            return limit
    path = spec_path(spec, template)
    params = [p for p in spec["paths"][path]["get"].get("parameters", []) if "name" in p]
    return EndpointLimit(
        path,
        page_max=1000 if any(p["name"] == "limit" for p in params) else None,
        required=tuple(p["name"] for p in params if p.get("required") and p.get("in") == "query"),
    )


def endpoints_module(spec: dict[str, Any]) -> str:
    """The text of tap_fivetran/endpoints.py: one row per GET the streams make."""
    rows: dict[str, EndpointLimit] = {}
    for stream in stream_types():
        for template in (stream.path, stream.detail_path):
            if template:
                limit = endpoint_limit(spec, template)
                rows.setdefault(limit.path, limit)
    return endpoint_tables.render_module(
        doc="Fivetran's endpoint limits (REST API spec and shared research notes), one row per "
        "GET\nthe tap makes. Every list takes ``limit`` 1..1000 (default 100); the account "
        "allows 20,000\nrequests an hour in all (paid plans), which the limiter keeps to. Paths "
        "are the spec's own\ntemplates.",
        generator="scripts/generate_fivetran_schemas.py",
        variable="FIVETRAN_ENDPOINTS",
        api="Fivetran",
        limits=rows.values(),
        account_limit=ACCOUNT_LIMIT,
    )


def render(schema: dict) -> str:
    """Stable text: sorted keys, 2-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Write every schema file (and remove files of streams that no longer exist)."""
    OUT.mkdir(parents=True, exist_ok=True)
    schemas = build_schemas()
    for stale in OUT.glob("*.json"):
        if stale.stem not in schemas:
            stale.unlink()
    for name, schema in schemas.items():
        (OUT / f"{name}.json").write_text(render(schema))
    endpoint_tables.write(ENDPOINTS_MODULE, endpoints_module(json.loads(SPEC.read_text())))
    print(
        f"Wrote {len(schemas)} schemas to {OUT.relative_to(ROOT)} and the endpoint limits to"
        f" {ENDPOINTS_MODULE.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
