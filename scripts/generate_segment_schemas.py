"""Write schemas/segment/<stream>.json for every tap-segment stream from the derived API spec.

The schemas are generated, not hand-written, so that every field of the API model is declared
and a spec update is one re-run away: ``python scripts/generate_segment_schemas.py``.
tests/test_segment_schemas.py fails when a file on disk and this generator disagree.

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

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "specs" / "segment-public-api.v73.2.0.derived.json"
OUT_DIR = ROOT / "schemas" / "segment"

Schema = dict[str, Any]

STRING: Schema = {"type": ["string", "null"]}
NUMBER: Schema = {"type": ["number", "null"]}
PARENT_KEY: Schema = {"type": ["string"]}


@dataclass(frozen=True)
class StreamSource:
    """Where a stream's records come from in the spec, and what the tap adds to them."""

    operation_id: str
    data_key: str  # list key (or single-object key) under ``data``
    model: str | None  # item model; None when the items are plain strings
    primary_keys: tuple[str, ...]
    parent_key: str | None = None
    replication_key: str | None = None
    extra: Mapping[str, Schema] = field(default_factory=dict)  # fields the tap adds
    drop: tuple[str, ...] = ()  # model fields the record does not carry
    note: str = ""


def _usage(operation_id: str, data_key: str, model: str, *keys: str) -> StreamSource:
    return StreamSource(
        operation_id,
        data_key,
        model,
        keys,
        replication_key="timestamp",
        extra={"period": {**STRING, "description": "First day of the month requested."}},
        note="One request per month (period); values are cumulative within the month.",
    )


# stream name -> source. Primary keys follow the contract (STREAMS.md): every one but the
# workspace's begins with workspaceId, so several workspaces share a table.
# PK fields that are optional in the model are still declared non-null (they are keys):
#   tracking_plan_rules.key (RuleV1.key is optional), functions.id (ListFunctionItemV1.id is
#   optional), events_volume eventName/eventType (optional in SourceEventVolumeV1; the
#   tap always groups by them and writes '' when absent; sourceId is source.id).
STREAMS: dict[str, StreamSource] = {
    "workspaces": StreamSource("getWorkspace", "workspace", "WorkspaceV1", ("id",)),
    "sources": StreamSource("listSources", "sources", "SourceV1", ("workspaceId", "id")),
    # data_key "" = the whole ``data`` object is the record (here {sourceId, settings}).
    "source_settings": StreamSource(
        "listSchemaSettingsInSource",
        "",
        "ListSchemaSettingsInSourceV1Output",
        ("workspaceId", "sourceId"),
        parent_key="sourceId",
        note="The record is data as it is: sourceId and one settings object.",
    ),
    "source_connected_warehouses": StreamSource(
        "listConnectedWarehousesFromSource",
        "warehouses",
        "WarehouseV1",
        ("workspaceId", "sourceId", "id"),
        parent_key="sourceId",
    ),
    "destinations": StreamSource(
        "listDestinations", "destinations", "DestinationV1", ("workspaceId", "id")
    ),
    "destination_filters": StreamSource(
        "listFiltersFromDestination",
        "filters",
        "DestinationFilterV1",
        ("workspaceId", "id"),
        parent_key="destinationId",
    ),
    "destination_subscriptions": StreamSource(
        "listSubscriptionsFromDestination",
        "subscriptions",
        "DestinationSubscription",
        ("workspaceId", "id"),
        parent_key="destinationId",
    ),
    "warehouses": StreamSource(
        "listWarehouses", "warehouses", "WarehouseV1", ("workspaceId", "id")
    ),
    "warehouse_connection_states": StreamSource(
        "getConnectionStateFromWarehouse",
        "connectionState",
        None,
        ("workspaceId", "warehouseId"),
        parent_key="warehouseId",
        extra={"connectionState": {**STRING, "description": "The Warehouse connection state."}},
        note="The record is data (connectionState) plus the warehouse id.",
    ),
    "warehouse_syncs": StreamSource(
        "listSyncsFromWarehouse",
        "reports",
        "SyncV1",
        ("workspaceId", "warehouseId", "sourceId", "start"),
        parent_key="warehouseId",
    ),
    "tracking_plans": StreamSource(
        "listTrackingPlans", "trackingPlans", "TrackingPlanV1", ("workspaceId", "id")
    ),
    "tracking_plan_rules": StreamSource(
        "listRulesFromTrackingPlan",
        "rules",
        "RuleV1",
        ("workspaceId", "trackingPlanId", "type", "key", "version"),
        parent_key="trackingPlanId",
    ),
    "tracking_plan_sources": StreamSource(
        "listSourcesFromTrackingPlan",
        "sources",
        "SourceV1",
        ("workspaceId", "trackingPlanId", "id"),
        parent_key="trackingPlanId",
    ),
    "transformations": StreamSource(
        "listTransformations", "transformations", "TransformationV1", ("workspaceId", "id")
    ),
    # ListFunctionItemV1 already declares resourceType; the tap fills it from the request.
    "functions": StreamSource(
        "listFunctions",
        "functions",
        "ListFunctionItemV1",
        ("workspaceId", "id"),
        note="Listed once per resourceType.",
    ),
    "users": StreamSource("listUsers", "users", "UserV1", ("workspaceId", "id")),
    "user_groups": StreamSource(
        "listUserGroups", "userGroups", "UserGroupV1", ("workspaceId", "id")
    ),
    "user_group_members": StreamSource(
        "listUsersFromUserGroup",
        "users",
        "MinimalUserV1",
        ("workspaceId", "userGroupId", "id"),
        parent_key="userGroupId",
    ),
    "user_group_invites": StreamSource(
        "listInvitesFromUserGroup",
        "emails",
        None,
        ("workspaceId", "userGroupId", "email"),
        parent_key="userGroupId",
        extra={"email": {"type": ["string"], "description": "The invited email address."}},
        note="Items are plain email strings; each becomes a record {email}.",
    ),
    "roles": StreamSource("listRoles", "roles", "RoleV1", ("workspaceId", "id")),
    "invites": StreamSource(
        "listInvites",
        "invites",
        None,
        ("workspaceId", "email"),
        extra={"email": {"type": ["string"], "description": "The invited email address."}},
        note="Items are plain email strings; each becomes a record {email}.",
    ),
    "labels": StreamSource("listLabels", "labels", "LabelV1", ("workspaceId", "key", "value")),
    "audit_events": StreamSource(
        "listAuditEvents",
        "events",
        "AuditEventV1",
        ("workspaceId", "id"),
        replication_key="timestamp",
    ),
    "regulations": StreamSource(
        "listWorkspaceRegulations", "regulations", "RegulationListEntryV1", ("workspaceId", "id")
    ),
    "suppressions": StreamSource(
        "listSuppressions",
        "suppressed",
        "SuppressedInner",
        ("workspaceId", "subjectType", "subjectId"),
        extra={"subjectId": {"type": ["string"], "description": "One of the item's subjectIds."}},
        drop=("subjectIds",),
        note="One record per entry of the item's subjectIds.",
    ),
    "credentials": StreamSource(
        "listCredentials", "credentials", "CredentialV1", ("workspaceId", "id")
    ),
    "usage_api_calls_daily": _usage(
        "getDailyWorkspaceAPICallsUsage",
        "dailyWorkspaceAPICallsUsage",
        "APICallSnapshotV1",
        "workspaceId",
        "timestamp",
    ),
    "usage_api_calls_sources_daily": _usage(
        "getDailyPerSourceAPICallsUsage",
        "dailyPerSourceAPICallsUsage",
        "SourceAPICallSnapshotV1",
        "workspaceId",
        "sourceId",
        "timestamp",
    ),
    "usage_mtu_daily": _usage(
        "getDailyWorkspaceMTUUsage",
        "dailyWorkspaceMTUUsage",
        "MtuSnapshotV1",
        "workspaceId",
        "timestamp",
    ),
    "usage_mtu_sources_daily": _usage(
        "getDailyPerSourceMTUUsage",
        "dailyPerSourceMTUUsage",
        "UsersPerSourceSnapshotV1",
        "workspaceId",
        "sourceId",
        "timestamp",
    ),
    "spaces": StreamSource("listSpaces", "spaces", "Space", ("workspaceId", "id")),
    "audiences": StreamSource(
        "listAudiences",
        "audiences",
        "AudienceSummaryWithAudienceTypeAndLookback",
        ("workspaceId", "id"),
        parent_key="spaceId",
    ),
    "computed_traits": StreamSource(
        "listComputedTraits",
        "computedTraits",
        "ComputedTraitSummary",
        ("workspaceId", "id"),
        parent_key="spaceId",
    ),
    "reverse_etl_models": StreamSource(
        "listReverseEtlModels", "models", "ReverseEtlModel", ("workspaceId", "id")
    ),
    "catalog_sources": StreamSource(
        "getSourcesCatalog", "sourcesCatalog", "SourceMetadataV1", ("workspaceId", "id")
    ),
    "catalog_destinations": StreamSource(
        "getDestinationsCatalog",
        "destinationsCatalog",
        "DestinationMetadataV1",
        ("workspaceId", "id"),
    ),
    "catalog_warehouses": StreamSource(
        "getWarehousesCatalog", "warehousesCatalog", "WarehouseMetadataV1", ("workspaceId", "id")
    ),
    # SourceEventVolumeV1 carries a time series; a row keyed on timestamp is one datapoint of
    # it (series[].time -> timestamp, series[].count -> count), grouped by eventName,
    # eventType and source.
    "events_volume": StreamSource(
        "getEventsVolumeFromWorkspace",
        "result",
        "SourceEventVolumeV1",
        ("workspaceId", "timestamp", "eventName", "eventType", "sourceId"),
        replication_key="timestamp",
        extra={
            "timestamp": {"type": ["string"], "description": "Start of the day (series[].time)."},
            "sourceId": {"type": ["string"], "description": "source.id, as a flat key column."},
            "count": {**NUMBER, "description": "Events in that day (series[].count)."},
        },
        note="Granularity DAY, grouped by eventName, eventType and source.",
    ),
}

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


def build_schemas() -> dict[str, dict]:
    """Stream name -> schema dict, for every tap-segment stream."""
    spec = load_spec()
    return {name: stream_schema(name, src, spec) for name, src in STREAMS.items()}


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
    print(f"Wrote {len(schemas)} schemas to {OUT_DIR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
