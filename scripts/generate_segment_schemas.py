"""Write schemas/segment/<stream>.json and tap_segment/endpoints.py from the stream classes and
the derived API spec.

Each stream class (tap_segment/streams.py) is read against the spec: the GET at its path, the
model under its records key, the parent key in its path, its keys and replication key; the
endpoint row is that GET's page range, rate limit and required parameters. So every field of
the API model is declared, a new stream is its class, and a spec update is one re-run away:
``python scripts/generate_segment_schemas.py``. tests/test_segment_schemas.py fails when a file
on disk and this generator disagree.

Rules (see shared/STREAMS.md): every property is nullable except primary keys, ``workspaceId``
and parent keys; enum/pattern constraints are dropped (the API adds values); free-form objects
stay whole; every field the spec documents as a point in time carries ``format: date-time``
(targets then type it TIMESTAMP; the API writes ISO-8601, its examples even the Go layout date
``2006-01-02T15:04:05.000Z``), and so do replication keys.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scripts import endpoint_tables
from tap_segment.client import SegmentStream
from tap_segment.streams import stream_types
from taps_common.endpoint_limits import EndpointLimit

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "segment-public-api.v73.2.0.derived.json"
OUT_DIR = ROOT / "schemas" / "segment"
ENDPOINTS_MODULE = ROOT / "tap_segment" / "endpoints.py"

Schema = dict[str, Any]

STRING: Schema = {"type": ["string", "null"]}
NUMBER: Schema = {"type": ["number", "null"]}
PARENT_KEY: Schema = {"type": ["string"]}


@dataclass(frozen=True)
class StreamSource:
    """Where a stream's records come from in the spec, and what the tap adds to them."""

    operation_id: str
    data_key: str  # list key (or single-object key) under ``data``; "" = ``data`` itself
    model: str | None  # item model; None when the items are plain strings
    primary_keys: tuple[str, ...]
    parent_key: str | None = None
    replication_key: str | None = None
    extra: Mapping[str, Schema] = field(default_factory=dict)  # fields the tap adds
    drop: tuple[str, ...] = ()  # model fields the record does not carry
    note: str = ""


@dataclass(frozen=True)
class Shaping:
    """What a stream's record holds beyond its endpoint's model: the one table entry a new
    stream may need (most need none)."""

    extra: Mapping[str, Schema] = field(default_factory=dict)  # fields the tap adds
    drop: tuple[str, ...] = ()  # model fields the record does not carry
    note: str = ""


EMAIL: Schema = {"type": ["string"], "description": "The invited email address."}
PLAIN_EMAILS = Shaping(
    extra={"email": EMAIL}, note="Items are plain email strings; each becomes a record {email}."
)
USAGE = Shaping(
    extra={"period": {**STRING, "description": "First day of the month requested."}},
    note="One request per month (period); values are cumulative within the month.",
)

# Everything else comes from the stream classes (tap_segment/streams.py: path, records key,
# primary keys, replication key) and the spec (operation, item model). Primary keys follow the
# contract (STREAMS.md): every one but the workspace's begins with workspaceId. PK fields that
# are optional in the model are still declared non-null (they are keys):
#   tracking_plan_rules.key (RuleV1.key is optional), functions.id (ListFunctionItemV1.id is
#   optional), events_volume eventName/eventType (optional in SourceEventVolumeV1; the
#   tap always groups by them and writes '' when absent; sourceId is source.id).
SHAPING: dict[str, Shaping] = {
    "source_settings": Shaping(
        note="The record is data as it is: sourceId and one settings object."
    ),
    "warehouse_connection_states": Shaping(
        note="The record is data (connectionState) plus the warehouse id."
    ),
    # ListFunctionItemV1 already declares resourceType; the tap fills it from the request.
    "functions": Shaping(note="Listed once per resourceType."),
    "user_group_invites": PLAIN_EMAILS,
    "invites": PLAIN_EMAILS,
    "suppressions": Shaping(
        extra={"subjectId": {"type": ["string"], "description": "One of the item's subjectIds."}},
        drop=("subjectIds",),
        note="One record per entry of the item's subjectIds.",
    ),
    "usage_api_calls_daily": USAGE,
    "usage_api_calls_sources_daily": USAGE,
    "usage_mtu_daily": USAGE,
    "usage_mtu_sources_daily": USAGE,
    # SourceEventVolumeV1 carries a time series; a row keyed on timestamp is one datapoint of
    # it (series[].time -> timestamp, series[].count -> count), grouped by eventName,
    # eventType and source.
    "events_volume": Shaping(
        extra={
            "timestamp": {"type": ["string"], "description": "Start of the day (series[].time)."},
            "sourceId": {"type": ["string"], "description": "source.id, as a flat key column."},
            "count": {**NUMBER, "description": "Events in that day (series[].count)."},
        },
        note="Granularity DAY, grouped by eventName, eventType and source.",
    ),
}


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


def stream_source(stream: type[SegmentStream], spec: Mapping[str, Any]) -> StreamSource:
    """A stream class read against the spec: the GET at its path, the model under its key."""
    [op] = [o for o in spec["get_operations"] if _shape(o["path"]) == _shape(stream.path)]
    data_key = stream.records_key or stream.object_key or ""
    if not data_key:
        model: str | None = op["data_model"]
    else:
        served = dict(zip(op["list_keys"], op["item_models"], strict=True))
        served.update({k["key"]: k["type"] for k in op["single_keys"]})
        if data_key not in served:
            raise ValueError(f"{stream.name}: {op['operationId']} has no data.{data_key}")
        model = None if served[data_key] == "string" else served[data_key]
    placeholders = re.findall(r"\{(\w+)\}", op["path"])
    # The SDK's replication_key is a property; an incremental stream's class sets a string.
    declared = getattr(stream, "replication_key", None)
    replication_key = declared if isinstance(declared, str) else None
    shaping = SHAPING.get(stream.name, Shaping())
    return StreamSource(
        op["operationId"],
        data_key,
        model,
        tuple(stream.primary_keys or ()),
        parent_key=placeholders[-1] if placeholders else None,
        replication_key=replication_key,
        extra=shaping.extra,
        drop=shaping.drop,
        note=shaping.note,
    )


# Spec fields typed ``any`` that are always JSON objects: kept as free-form objects.
OBJECT_OVERRIDES = {("RuleV1", "jsonSchema")}

# The derived spec has no formats, so a timestamp is known by its documentation: a string whose
# name says it is one (createdAt, deprecatedAt, timestamp, SyncV1.start/end, nextExecution) and
# whose description says so too ("The timestamp of ...", "ISO-8601", "RFC3339", "The time ...").
# periodStart/periodEnd (unix seconds, numbers) and timezone (a zone name) stay as they are.
TIME_NAME = re.compile(r"^(timestamp|time|start|end|nextExecution|[a-z]\w*At)$")
TIME_WORDS = re.compile(r"ISO[- ]?8601|RFC ?3339|\btimestamp\b|\btime\b|\bdate\b", re.IGNORECASE)


def documents_a_time(prop: Mapping[str, Any]) -> bool:
    """Whether a model field is documented as an ISO-8601 point in time."""
    return (
        prop.get("type") == "string"
        and bool(TIME_NAME.match(str(prop.get("name") or "")))
        and bool(TIME_WORDS.search(str(prop.get("description") or "")))
    )


_MODEL_REF = re.compile(r"^[A-Z]\w*$")


def free_object() -> Schema:
    """A free-form object: declared, nullable, any keys (settings, jsonSchema...)."""
    return {"type": ["object", "null"], "additionalProperties": True}


def type_schema(
    type_: str, models: Mapping[str, Any], stack: tuple[str, ...], *, nullable: bool = True
) -> Schema:
    """JSON schema for one spec type string; ``stack`` guards against self-reference."""
    null = ["null"] if nullable else []
    if type_ in ("string", "number", "boolean", "integer"):
        return {"type": [type_, *null]}
    if type_ == "object":
        return {"type": ["object", *null], "additionalProperties": True}
    if type_ == "any":
        return {}
    if type_.startswith("array<") and type_.endswith(">"):
        items = type_schema(type_[6:-1], models, stack, nullable=False)
        return {"type": ["array", *null], "items": items}
    if type_.startswith("map<") and type_.endswith(">"):
        values = type_schema(type_[4:-1], models, stack)
        return {"type": ["object", *null], "additionalProperties": values}
    if _MODEL_REF.match(type_):
        return model_schema(type_, models, stack, nullable=nullable)
    raise ValueError(f"Unknown type form in the spec: {type_!r}")


def model_schema(
    name: str, models: Mapping[str, Any], stack: tuple[str, ...] = (), *, nullable: bool = True
) -> Schema:
    """A model expanded recursively; a model seen again on its own path becomes free-form."""
    null = ["null"] if nullable else []
    if name not in models:
        raise KeyError(f"Model {name!r} is not in the spec")
    if name in stack:
        return {"type": ["object", *null], "additionalProperties": True}
    model = models[name]
    inner = (*stack, name)
    kind = model["kind"]
    if kind == "enum":
        return {"type": ["string", *null]}
    if kind == "anyOf":
        # Targets handle anyOf poorly: merge the variants' fields, all nullable.
        merged: dict[str, Schema] = {}
        for variant in model["schemas"]:
            for prop, sub in model_schema(variant, models, inner)["properties"].items():
                merged[prop] = sub if merged.get(prop, sub) == sub else {}
        return {"type": ["object", *null], "properties": merged, "additionalProperties": True}
    if kind != "object":
        raise ValueError(f"Unknown model kind {kind!r} for {name}")
    return {
        "type": ["object", *null],
        "properties": {
            p["name"]: property_schema(name, p, models, inner) for p in model["properties"]
        },
        "additionalProperties": True,
    }


def property_schema(
    model: str, prop: Mapping[str, Any], models: Mapping[str, Any], stack: tuple[str, ...]
) -> Schema:
    """One model field: always nullable, with the spec's description, no enum."""
    if (model, prop["name"]) in OBJECT_OVERRIDES:
        schema = free_object()
    else:
        schema = type_schema(prop["type"], models, stack)
    if documents_a_time(prop):
        schema = {**schema, "format": "date-time"}
    if prop.get("description"):
        schema = {**schema, "description": " ".join(str(prop["description"]).split())}
    return schema


def _operations(spec: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {op["operationId"]: op for op in spec["get_operations"]}


def _check_source(stream: str, src: StreamSource, op: Mapping[str, Any]) -> str:
    """The spec's item type for ``src.data_key``; fail loudly if the table drifted."""
    if not src.data_key:
        if op["data_model"] != src.model:
            raise ValueError(f"{stream}: data is {op['data_model']}, table says {src.model}")
        return op["data_model"]
    lists = dict(zip(op["list_keys"], op["item_models"], strict=True))
    singles = {k["key"]: k["type"] for k in op["single_keys"]}
    item_type = lists.get(src.data_key, singles.get(src.data_key))
    if item_type is None:
        raise ValueError(f"{stream}: {op['operationId']} has no data.{src.data_key}")
    expected = src.model or "string"
    if item_type != expected:
        raise ValueError(f"{stream}: data.{src.data_key} is {item_type}, table says {expected}")
    return item_type


def stream_schema(stream: str, src: StreamSource, spec: Mapping[str, Any]) -> Schema:
    """The record schema of one stream."""
    models = spec["models"]
    op = _operations(spec)[src.operation_id]
    _check_source(stream, src, op)
    props: dict[str, Schema] = {}
    if src.model:
        props.update(model_schema(src.model, models)["properties"])
    for name in src.drop:
        props.pop(name)
    props.update({k: dict(v) for k, v in src.extra.items()})
    props["workspaceId"] = {**PARENT_KEY, "description": "The Segment Workspace id."}
    if src.parent_key:
        described = props.get(src.parent_key, {}).get("description")
        props[src.parent_key] = {
            **PARENT_KEY,
            "description": described or f"The parent's id ({src.parent_key}) from the URL.",
        }
    for key in src.primary_keys:
        if key not in props:
            raise ValueError(f"{stream}: primary key {key!r} is not a field of the record")
        types = props[key].get("type")
        if not isinstance(types, list):
            raise ValueError(f"{stream}: primary key {key!r} has no concrete type")
        props[key] = {**props[key], "type": [t for t in types if t != "null"]}
    if src.replication_key:
        props[src.replication_key] = {**props[src.replication_key], "format": "date-time"}
    shape = (
        "data"
        if not src.data_key
        else f"data.{src.data_key}[]"
        if src.data_key in op["list_keys"]
        else f"data.{src.data_key}"
    )
    what = src.model or "string values"
    description = f"GET {op['path']} ({src.operation_id}): {shape} -> {what}."
    if src.note:
        description += f" {src.note}"
    return {
        "type": "object",
        "description": description,
        "properties": props,
        "additionalProperties": True,
    }


def load_spec() -> dict[str, Any]:
    """The derived v73.2.0 spec data."""
    return json.loads(SPEC.read_text(encoding="utf-8"))


def stream_sources(spec: Mapping[str, Any]) -> dict[str, StreamSource]:
    """Stream name -> where its records come from, for every stream the tap declares."""
    unknown = set(SHAPING) - {stream.name for stream in stream_types()}
    if unknown:
        raise ValueError(f"SHAPING names streams the tap does not declare: {sorted(unknown)}")
    return {stream.name: stream_source(stream, spec) for stream in stream_types()}


STREAMS = stream_sources(load_spec())


def build_schemas() -> dict[str, dict]:
    """Stream name -> schema dict, for every tap-segment stream."""
    spec = load_spec()
    return {name: stream_schema(name, src, spec) for name, src in stream_sources(spec).items()}


def page_range(op: Mapping[str, Any], spec: Mapping[str, Any]) -> tuple[int, int] | None:
    """(low, high) of ``pagination.count``, from the pagination model's description ("must
    be between 1 and 1000"); None for an endpoint that takes no pagination."""
    for param in op["parameters"]:
        model = spec["models"].get(param["type"])
        if param["name"] != "pagination" or not model:
            continue
        [count] = [p for p in model["properties"] if p["name"] == "count"]
        low, high = re.findall(r"between (\d+) and (\d+)", count["description"])[0]
        return int(low), int(high)
    return None


def endpoint_limits(spec: Mapping[str, Any]) -> list[EndpointLimit]:
    """One row per GET the streams make, as the spec documents it."""
    rows: dict[str, EndpointLimit] = {}
    for stream in stream_types():
        [op] = [o for o in spec["get_operations"] if _shape(o["path"]) == _shape(stream.path)]
        pages = page_range(op, spec)
        rows.setdefault(
            op["path"],
            EndpointLimit(
                op["path"],
                page_max=pages[1] if pages else None,
                page_min=pages[0] if pages else 1,
                per_minute=op["endpoint_rate_limit_per_minute"],
                required=tuple(
                    p["name"] for p in op["parameters"] if p["required"] and p["in"] == "query"
                ),
            ),
        )
    return list(rows.values())


def endpoints_module(spec: Mapping[str, Any]) -> str:
    """The text of tap_segment/endpoints.py."""
    return endpoint_tables.render_module(
        doc="Segment's endpoint limits (v73.2.0 spec data), one row per GET the tap makes.\n\n"
        "Lists take ``pagination.count`` in the range the pagination model states (1..1000,\n"
        "``listAudiences`` 1..200); rate limits are the ones the operation descriptions document.",
        generator="scripts/generate_segment_schemas.py",
        variable="SEGMENT_ENDPOINTS",
        api="Segment",
        limits=endpoint_limits(spec),
    )


def render(schema: Mapping[str, Any]) -> str:
    """The exact file text: sorted keys, indent 2, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> None:
    """Write every schema file (stale files of removed streams are deleted)."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    schemas = build_schemas()
    for stale in OUT_DIR.glob("*.json"):
        if stale.stem not in schemas:
            stale.unlink()
    for name, schema in schemas.items():
        (OUT_DIR / f"{name}.json").write_text(render(schema), encoding="utf-8")
    endpoint_tables.write(ENDPOINTS_MODULE, endpoints_module(load_spec()))
    print(
        f"Wrote {len(schemas)} schemas to {OUT_DIR.relative_to(ROOT)} and the endpoint limits"
        f" to {ENDPOINTS_MODULE.relative_to(ROOT)}"
    )


if __name__ == "__main__":
    main()
