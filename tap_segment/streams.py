"""tap-segment streams: declarations only, named and keyed as the stream contract says."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from tap_segment.client import SegmentStream
from taps_common.declared import declared_streams
from taps_common.paging import ChunkPlanner

FUNCTION_RESOURCE_TYPES = (
    "DESTINATION",
    "INSERT_DESTINATION",
    "INSERT_SOURCE",
    "INSERT_TRANSFORMATION",
    "SOURCE",
)


def _moment(text: str) -> dt.datetime:
    """A window bound written by ``iso``."""
    return dt.datetime.fromisoformat(text)


def iso(moment: dt.datetime) -> str:
    """UTC ISO-8601 with milliseconds and a Z, as Segment writes it."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


# ----- workspace ------------------------------------------------------------------------------
class WorkspacesStream(SegmentStream):
    """The workspace itself (served from the token check, no second request)."""

    name = "workspaces"
    path = "/"
    object_key = "workspace"
    primary_keys = ("id",)
    fetch_ahead = False

    def get_records(self, context: Mapping[str, Any] | None) -> Iterable[dict]:
        """The workspace resolved when the token was checked."""
        workspace = self.segment.workspace_record((context or {})["workspaceId"])
        yield self.with_context_keys(dict(workspace), context)


# ----- sources, destinations, warehouses ------------------------------------------------------
class SourcesStream(SegmentStream):
    name = "sources"
    path = "/sources"
    records_key = "sources"
    primary_keys = ("workspaceId", "id")
    secret_values = ("writeKeys",)
    secret_trees = ("settings",)
    child_context_fields: ClassVar[dict[str, str]] = {"sourceId": "id"}


class SourceSettingsStream(SegmentStream):
    """The API's ``data`` as it is: ``{sourceId, settings}``, ``settings`` one object."""

    name = "source_settings"
    path = "/sources/{sourceId}/settings"
    primary_keys = ("workspaceId", "sourceId")
    parent_stream_type = SourcesStream


class SourceConnectedWarehousesStream(SegmentStream):
    name = "source_connected_warehouses"
    path = "/sources/{sourceId}/connected-warehouses"
    records_key = "warehouses"
    primary_keys = ("workspaceId", "sourceId", "id")
    parent_stream_type = SourcesStream
    secret_trees = ("settings",)


class DestinationsStream(SegmentStream):
    name = "destinations"
    path = "/destinations"
    records_key = "destinations"
    primary_keys = ("workspaceId", "id")
    secret_trees = ("settings",)
    child_context_fields: ClassVar[dict[str, str]] = {"destinationId": "id"}


class DestinationFiltersStream(SegmentStream):
    name = "destination_filters"
    path = "/destination/{destinationId}/filters"
    records_key = "filters"
    primary_keys = ("workspaceId", "id")
    parent_stream_type = DestinationsStream


class DestinationSubscriptionsStream(SegmentStream):
    name = "destination_subscriptions"
    path = "/destinations/{destinationId}/subscriptions"
    records_key = "subscriptions"
    primary_keys = ("workspaceId", "id")
    parent_stream_type = DestinationsStream
    secret_trees = ("settings",)


class WarehousesStream(SegmentStream):
    name = "warehouses"
    path = "/warehouses"
    records_key = "warehouses"
    primary_keys = ("workspaceId", "id")
    secret_trees = ("settings",)
    child_context_fields: ClassVar[dict[str, str]] = {"warehouseId": "id"}


class WarehouseConnectionStatesStream(SegmentStream):
    name = "warehouse_connection_states"
    path = "/warehouses/{warehouseId}/connection-state"
    primary_keys = ("workspaceId", "warehouseId")
    parent_stream_type = WarehousesStream


class WarehouseSyncsStream(SegmentStream):
    name = "warehouse_syncs"
    path = "/warehouses/{warehouseId}/syncs"
    records_key = "reports"
    primary_keys = ("workspaceId", "warehouseId", "sourceId", "start")
    parent_stream_type = WarehousesStream
    selected_by_default = False


# ----- Protocols ------------------------------------------------------------------------------
class TrackingPlansStream(SegmentStream):
    name = "tracking_plans"
    path = "/tracking-plans"
    records_key = "trackingPlans"
    primary_keys = ("workspaceId", "id")
    child_context_fields: ClassVar[dict[str, str]] = {"trackingPlanId": "id"}


class TrackingPlanRulesStream(SegmentStream):
    name = "tracking_plan_rules"
    path = "/tracking-plans/{trackingPlanId}/rules"
    records_key = "rules"
    primary_keys = ("workspaceId", "trackingPlanId", "type", "key", "version")
    parent_stream_type = TrackingPlansStream


class TrackingPlanSourcesStream(SegmentStream):
    name = "tracking_plan_sources"
    path = "/tracking-plans/{trackingPlanId}/sources"
    records_key = "sources"
    primary_keys = ("workspaceId", "trackingPlanId", "id")
    parent_stream_type = TrackingPlansStream
    secret_values = ("writeKeys",)
    secret_trees = ("settings",)


class TransformationsStream(SegmentStream):
    name = "transformations"
    path = "/transformations"
    records_key = "transformations"
    primary_keys = ("workspaceId", "id")


class FunctionsStream(SegmentStream):
    """``resourceType`` is required: one walk per type."""

    name = "functions"
    path = "/functions"
    records_key = "functions"
    primary_keys = ("workspaceId", "id")

    def request_plans(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Every resource type the API knows."""
        return ({"resourceType": t} for t in FUNCTION_RESOURCE_TYPES)

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """Keep the type the function was listed under."""
        [record] = super().make_records(item, context, plan)
        record.setdefault("resourceType", plan["resourceType"])
        return [record]


# ----- access: users, groups, roles, invites, labels ------------------------------------------
class UsersStream(SegmentStream):
    name = "users"
    path = "/users"
    records_key = "users"
    primary_keys = ("workspaceId", "id")


class UserGroupsStream(SegmentStream):
    name = "user_groups"
    path = "/groups"
    records_key = "userGroups"
    primary_keys = ("workspaceId", "id")
    child_context_fields: ClassVar[dict[str, str]] = {"userGroupId": "id"}


class UserGroupMembersStream(SegmentStream):
    name = "user_group_members"
    path = "/groups/{userGroupId}/users"
    records_key = "users"
    primary_keys = ("workspaceId", "userGroupId", "id")
    parent_stream_type = UserGroupsStream


class _EmailList(SegmentStream):
    """Invites come back as plain email strings: each becomes a record ``{email}``."""

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """``"a@b.c"`` -> ``{"email": "a@b.c"}``."""
        if isinstance(item, dict):
            return [item]
        return [{"email": str(item)}]


class UserGroupInvitesStream(_EmailList):
    name = "user_group_invites"
    path = "/groups/{userGroupId}/invites"
    records_key = "emails"
    primary_keys = ("workspaceId", "userGroupId", "email")
    parent_stream_type = UserGroupsStream


class RolesStream(SegmentStream):
    name = "roles"
    path = "/roles"
    records_key = "roles"
    primary_keys = ("workspaceId", "id")


class InvitesStream(_EmailList):
    name = "invites"
    path = "/invites"
    records_key = "invites"
    primary_keys = ("workspaceId", "email")


class LabelsStream(SegmentStream):
    name = "labels"
    path = "/labels"
    records_key = "labels"
    paginated = False
    primary_keys = ("workspaceId", "key", "value")


# ----- audit trail (incremental) --------------------------------------------------------------
class DensityWindows(ChunkPlanner):
    """Audit windows for the next chunk, sized so each holds about ``fill`` events judging by
    how dense the previous chunk was; between ``shortest`` and ``longest`` long."""

    def __init__(
        self,
        todo: list[dict[str, Any]],
        width: int,
        longest: dt.timedelta,
        fill: float,
        shortest: dt.timedelta,
    ) -> None:
        super().__init__(todo, width)
        self.longest, self.fill, self.shortest = longest, fill, shortest
        self.length = longest
        self.start = _moment(todo[0]["startTime"]) if todo else None
        self.end = _moment(todo[-1]["endTime"]) if todo else None
        self.last_span = 0.0  # seconds the previous chunk covered

    def next_chunk(self, held_before: int) -> list[dict[str, Any]]:
        """Windows from where the last chunk ended; their length from its density."""
        if self.start is None or self.end is None or self.start >= self.end:
            return []
        if held_before and self.last_span > 0:
            fit = dt.timedelta(seconds=self.last_span * self.fill / held_before)
            self.length = min(max(fit, self.shortest), self.longest)
        else:
            self.length = self.longest
        chunk_start, chunk = self.start, list[dict[str, Any]]()
        while self.start < self.end and len(chunk) < self.width:
            stop = min(self.start + self.length, self.end)
            chunk.append({"startTime": iso(self.start), "endTime": iso(stop)})
            self.start = stop
        self.last_span = (self.start - chunk_start).total_seconds()
        return chunk


class AuditEventsStream(SegmentStream):
    """Walked in time windows, oldest first; each window's events (newest first from the API)
    are sorted ascending, so the bookmark advances safely as records are emitted."""

    name = "audit_events"
    path = "/audit-events"
    records_key = "events"
    primary_keys = ("workspaceId", "id")
    replication_key = "timestamp"
    is_sorted = True
    check_sorted = False  # the lookback re-reads events older than the bookmark on purpose
    buffer_per_plan = True
    STATE_MSG_FREQUENCY = 1000

    def request_plans(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """Windows from bookmark - lookback (or start_date) to now."""
        bookmark = self.starting_timestamp(context)
        settings = self.segment.settings
        lookback = dt.timedelta(minutes=settings.audit_lookback_minutes)
        start = bookmark - lookback if bookmark else settings.history_start()
        window = dt.timedelta(hours=settings.audit_window_hours)
        now = dt.datetime.now(dt.UTC)
        while start < now:
            end = min(start + window, now)
            yield {"startTime": iso(start), "endTime": iso(end)}
            start = end

    edge_key_fields = ("id",)  # an event on the edge of two windows is emitted once

    def on_plan_finished(self, records: list[dict], plan: Mapping[str, Any]) -> list[dict]:
        """Ascending by time, so the bookmark advances with the records."""
        records.sort(key=lambda r: (str(r.get("timestamp") or ""), str(r.get("id"))))
        return records

    # A window is held whole (to sort it), so windows are sized to hold about a page each:
    # memory then stays flat however many events the account has.
    FILL = 0.8  # share of a page a window is sized for, leaving room for bursts
    SHORTEST = dt.timedelta(minutes=1)  # below this a dense window is paginated, not split

    def chunk_planner(self, todo: list[dict[str, Any]], width: int) -> ChunkPlanner:
        """Windows sized from the density of the chunk before (at most the configured length)."""
        longest = dt.timedelta(hours=self.segment.settings.audit_window_hours)
        return DensityWindows(todo, width, longest, self.FILL * self.page_limit, self.SHORTEST)

    def split_plan(self, plan: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        """Halves of a window that holds more than a page (a burst)."""
        start, end = _moment(plan["startTime"]), _moment(plan["endTime"])
        if end - start < 2 * self.SHORTEST:
            return None
        middle = start + (end - start) / 2
        return [
            {**plan, "startTime": iso(start), "endTime": iso(middle)},
            {**plan, "startTime": iso(middle), "endTime": iso(end)},
        ]


# ----- deletion and suppression, credentials --------------------------------------------------
class RegulationsStream(SegmentStream):
    name = "regulations"
    path = "/regulations"
    records_key = "regulations"
    primary_keys = ("workspaceId", "id")


class SuppressionsStream(SegmentStream):
    """Items hold a list ``subjectIds``: one record per subject."""

    name = "suppressions"
    path = "/suppressions"
    records_key = "suppressed"
    primary_keys = ("workspaceId", "subjectType", "subjectId")

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """Expand ``{subjectType, subjectIds: [...]}``."""
        [record] = super().make_records(item, context, plan)
        rest = {k: v for k, v in record.items() if k != "subjectIds"}
        return [{**rest, "subjectId": sid} for sid in record.get("subjectIds") or []]


class CredentialsStream(SegmentStream):
    name = "credentials"
    path = "/credentials"
    records_key = "credentials"
    primary_keys = ("workspaceId", "id")
    secret_trees = ("settings",)


# ----- usage (incremental by month) -----------------------------------------------------------
class _UsageStream(SegmentStream):
    """Daily usage, requested one month (``period``) at a time from start_date to now."""

    primary_keys: ClassVar[tuple[str, ...]] = ("workspaceId", "timestamp")
    replication_key = "timestamp"
    is_sorted = True
    check_sorted = False  # the current month is re-read: values are cumulative in a month
    buffer_per_plan = True

    def request_plans(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """First day of every month from the bookmark's month (or start_date) to now."""
        start = self.starting_timestamp(context) or self.segment.settings.history_start()
        month = dt.date(start.year, start.month, 1)
        today = dt.datetime.now(dt.UTC).date()
        while month <= today:
            yield {"period": month.isoformat()}
            month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """Keep the month the row was requested for."""
        [record] = super().make_records(item, context, plan)
        record.setdefault("period", plan["period"])
        return [record]

    def on_plan_finished(self, records: list[dict], plan: Mapping[str, Any]) -> list[dict]:
        """Oldest day first so the bookmark advances with the records."""
        records.sort(key=lambda r: (str(r.get("timestamp") or ""), str(r.get("sourceId") or "")))
        return records


class UsageApiCallsDailyStream(_UsageStream):
    name = "usage_api_calls_daily"
    path = "/usage/api-calls/daily"
    records_key = "dailyWorkspaceAPICallsUsage"


class UsageApiCallsSourcesDailyStream(_UsageStream):
    name = "usage_api_calls_sources_daily"
    path = "/usage/api-calls/sources/daily"
    records_key = "dailyPerSourceAPICallsUsage"
    primary_keys = ("workspaceId", "sourceId", "timestamp")


class UsageMtuDailyStream(_UsageStream):
    name = "usage_mtu_daily"
    path = "/usage/mtu/daily"
    records_key = "dailyWorkspaceMTUUsage"


class UsageMtuSourcesDailyStream(_UsageStream):
    name = "usage_mtu_sources_daily"
    path = "/usage/mtu/sources/daily"
    records_key = "dailyPerSourceMTUUsage"
    primary_keys = ("workspaceId", "sourceId", "timestamp")


# ----- Engage spaces, reverse ETL -------------------------------------------------------------
class SpacesStream(SegmentStream):
    name = "spaces"
    path = "/spaces"
    records_key = "spaces"
    primary_keys = ("workspaceId", "id")
    child_context_fields: ClassVar[dict[str, str]] = {"spaceId": "id"}


class AudiencesStream(SegmentStream):
    name = "audiences"
    path = "/spaces/{spaceId}/audiences"
    records_key = "audiences"
    primary_keys = ("workspaceId", "id")
    parent_stream_type = SpacesStream


class ComputedTraitsStream(SegmentStream):
    name = "computed_traits"
    path = "/spaces/{spaceId}/computed-traits"
    records_key = "computedTraits"
    primary_keys = ("workspaceId", "id")
    parent_stream_type = SpacesStream


class ReverseEtlModelsStream(SegmentStream):
    name = "reverse_etl_models"
    path = "/reverse-etl-models"
    records_key = "models"
    primary_keys = ("workspaceId", "id")


# ----- catalogs and event volume (not selected by default) ------------------------------------
class CatalogSourcesStream(SegmentStream):
    name = "catalog_sources"
    path = "/catalog/sources"
    records_key = "sourcesCatalog"
    primary_keys = ("workspaceId", "id")
    selected_by_default = False


class CatalogDestinationsStream(SegmentStream):
    name = "catalog_destinations"
    path = "/catalog/destinations"
    records_key = "destinationsCatalog"
    primary_keys = ("workspaceId", "id")
    selected_by_default = False


class CatalogWarehousesStream(SegmentStream):
    name = "catalog_warehouses"
    path = "/catalog/warehouses"
    records_key = "warehousesCatalog"
    primary_keys = ("workspaceId", "id")
    selected_by_default = False


EVENTS_VOLUME_GROUP_BY = ("eventName", "eventType", "source")


class EventsVolumeStream(SegmentStream):
    """Daily event volume per (event name, type, source), in windows of at most 30 days."""

    name = "events_volume"
    path = "/events/volume"
    records_key = "result"
    primary_keys = ("workspaceId", "timestamp", "eventName", "eventType", "sourceId")
    replication_key = "timestamp"
    is_sorted = True
    check_sorted = False
    buffer_per_plan = True
    selected_by_default = False

    def request_plans(self, context: Mapping[str, Any] | None) -> Iterable[dict[str, Any]]:
        """DAY granularity windows from the bookmark day (or start_date) to now."""
        start = self.starting_timestamp(context) or self.segment.settings.history_start()
        start = start.replace(hour=0, minute=0, second=0, microsecond=0)
        now = dt.datetime.now(dt.UTC)
        while start < now:
            end = min(start + dt.timedelta(days=30), now)
            yield {
                "granularity": "DAY",
                "startTime": iso(start),
                "endTime": iso(end),
                "groupBy": list(EVENTS_VOLUME_GROUP_BY),
            }
            start = end

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """One record per datapoint of the item's ``series``, keyed by its group values."""
        [record] = super().make_records(item, context, plan)
        series = record.pop("series", None) or []
        source = record["source"] if isinstance(record.get("source"), dict) else {}
        record["sourceId"] = str(source.get("id") or "")
        record["eventName"] = record.get("eventName") or ""
        record["eventType"] = record.get("eventType") or ""
        return [
            {**record, "timestamp": point.get("time"), "count": point.get("count")}
            for point in series
            if isinstance(point, dict)
        ]

    def on_plan_finished(self, records: list[dict], plan: Mapping[str, Any]) -> list[dict]:
        """Ascending by day."""
        records.sort(key=lambda r: str(r.get("timestamp") or ""))
        return records


def stream_types() -> tuple[type[SegmentStream], ...]:
    """Every stream class of this module, in the order written (the SDK syncs them in this
    order): a new stream is its class, wherever in the file it is written."""
    return declared_streams(globals(), SegmentStream)
