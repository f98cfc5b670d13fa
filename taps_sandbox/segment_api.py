"""The Segment Public API emulator: every endpoint of the tap-segment contract by hand, every
other GET of the spec derived from its models (so a new stream has an endpoint at once).

Objects are generated on demand from the v73.2.0 models in ``specs/`` (every field filled),
deterministically from the object's index, so a large workspace costs nothing until it is read.
Envelopes, pagination (``pagination.count`` / ``pagination.cursor``, dot or bracket keys),
errors and the 429 body (``msBeforeNext``) follow the real API.
"""

from __future__ import annotations

import base64
import bisect
import calendar
import datetime as dt
import email.utils
import json
import re
import threading
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from tap_segment.endpoints import SEGMENT_ENDPOINTS
from taps_sandbox.base import (
    SEGMENT_TOKEN,
    SEGMENT_TOKEN_2,
    SENTINEL,
    ApiBase,
    ApiResponse,
    SandboxOptions,
)

SPEC_NAME = "segment-public-api.v73.2.0.derived.json"
FUNCTION_TYPES = (
    "DESTINATION",
    "INSERT_DESTINATION",
    "INSERT_SOURCE",
    "INSERT_TRANSFORMATION",
    "SOURCE",
)
SMALL = {
    "sources": 7,
    "destinations": 9,
    "warehouses": 2,  # warehouse_syncs allows 2 requests a minute: keep test runs fast
    "tracking_plans": 4,
    "transformations": 2,
    "functions": 2,  # per resource type
    "users": 9,
    "user_groups": 4,
    "roles": 5,
    "invites": 4,
    "labels": 3,
    "audit_events": 40,
    "regulations": 3,
    "suppressions": 2,
    "credentials": 2,
    "spaces": 2,
    "reverse_etl_models": 2,
    "catalog": 5,
}
LARGE = {
    **{k: v * 5 for k, v in SMALL.items()},
    "sources": 500,
    "destinations": 2000,
    "users": 300,
    "user_groups": 50,
    "tracking_plans": 100,
    "audit_events": 100_000,
}
AUDIT_SPAN = dt.timedelta(days=60)
AUDIT_NEWEST_AGE = dt.timedelta(minutes=10)  # room for add_audit_events before "now"
# Every fifth audit event is by one of the first AUDIT_ACTORS users (actor: the user id,
# actorEmail: the user's email), so the access marts can tell their latest activity; the
# other users act in no event (their activity is unknown).
AUDIT_ACTORS = 3
# One user of workspace 1 holds roles as real workspaces scope them: Source Admin on one of
# the workspace's sources, Source Read-only on the sources labelled environment:prod, and
# minimal access to the workspace (the other users' permissions are generated from the spec).
SOURCE_SCOPED_USER = 3
SCOPED_SOURCE = 1
# Deletion and suppression requests by index, cycling: (status, regulationType, subjectType,
# days before today it was made, days it took or None while it runs). The API lists requests
# of the last 90 days only; request 0 is the oldest, request 1 runs past GDPR's month.
REGULATIONS: tuple[tuple[str, str, str, int, int | None], ...] = (
    ("FINISHED", "SUPPRESS_WITH_DELETE", "USER_ID", 88, 6),
    ("RUNNING", "DELETE_ONLY", "USER_ID", 41, None),
    ("INITIALIZED", "DELETE_INTERNAL", "OBJECT_ID", 2, None),
    ("FAILED", "DELETE_ONLY", "USER_ID", 20, 1),
    ("PARTIAL_SUCCESS", "SUPPRESS_WITH_DELETE_INTERNAL", "USER_ID", 55, 9),
    ("FINISHED", "SUPPRESS_ONLY", "USER_ID", 12, 0),
    ("RUNNING", "DELETE_ONLY", "USER_ID", 8, None),
    ("INVALID", "UNSUPPRESS", "USER_ID", 70, 0),
    ("NOT_SUPPORTED", "DELETE_ONLY", "OBJECT_ID", 33, 0),
)


class ApiError(Exception):
    """An error answer in Segment's envelope."""

    def __init__(self, status: int, kind: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.field = status, kind, message, field


@cache
def _spec() -> dict[str, Any]:
    here = Path(__file__).resolve()
    for folder in (here.parent / "specs", here.parents[1] / "specs"):
        if (folder / SPEC_NAME).is_file():
            return json.loads((folder / SPEC_NAME).read_text())
    raise FileNotFoundError(f"{SPEC_NAME} not found next to the sandbox or in the repo's specs/")


def iso(moment: dt.datetime) -> str:
    """Segment's timestamp style."""
    return moment.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_time(value: str, name: str) -> dt.datetime:
    """ISO-8601 (date or date-time); 422 otherwise."""
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(422, "ValidationFailure", f'"{name}" must be ISO-8601', name) from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


class Filler:
    """Fills a model with plausible values: every field, deterministic per (model, seed).

    Each model's fields are compiled once into value makers: the audit trail alone asks for
    100,000 events, and the emulator's cost should not weigh on what the benchmark measures.
    """

    def __init__(self, models: dict[str, Any]) -> None:
        self.models = models
        self._makers: dict[str, list[tuple[str, Callable[[int, int], Any]]]] = {}

    def model(self, name: str, seed: int, depth: int = 0) -> Any:
        """A filled instance of model ``name``."""
        spec = self.models[name]
        kind = spec.get("kind")
        if kind == "enum":
            return spec["values"][seed % len(spec["values"])]
        if kind == "anyOf":
            return self.model(spec["schemas"][0], seed, depth)
        makers = self._makers.get(name)
        if makers is None:
            makers = [
                (p["name"], self._maker(p["name"], p["type"])) for p in spec.get("properties", [])
            ]
            self._makers[name] = makers
        return {field: make(seed, depth) for field, make in makers}

    def _maker(self, field: str, kind: str) -> Callable[[int, int], Any]:
        if kind == "string":
            string = string_maker(field)
            return lambda seed, depth: string(seed)
        return lambda seed, depth: self.value(field, kind, seed, depth + 1)

    def value(self, field: str, kind: str, seed: int, depth: int) -> Any:
        """A value of a derived-spec type such as ``array<LabelV1>`` or ``string``."""
        if kind.startswith("array<"):
            inner = kind[6:-1]
            if depth > 5:
                return []
            return [self.value(field, inner, seed + k, depth) for k in range(1 + seed % 2)]
        if kind.startswith("map<"):
            return {f"{field}_key": self.value(field, kind[4:-1], seed, depth)}
        if kind in self.models:
            return self.model(kind, seed, depth) if depth <= 6 else {}
        if kind == "string":
            return string_maker(field)(seed)
        if kind in ("number", "integer"):
            return seed % 97 + 1
        if kind == "boolean":
            return seed % 2 == 0
        if kind == "object":
            if field.lower().endswith("settings"):
                return secret_settings(seed)
            return {"key": f"{field}-{seed}", "nested": {"flag": True}}
        return {"any": f"{field}-{seed}"}


# Every field the schemas declare date-time gets an ISO-8601 value (or null for these two).
POINTS_IN_TIME = ("timestamp", "start", "end", "time", "period", "nextexecution")
UNTIL_DONE = ("deprecatedat", "finishedat")


@cache
def string_maker(field: str) -> Callable[[int], str | None]:
    """How a string field's value follows from the seed, decided once per field name."""
    lowered = field.lower()
    if lowered in UNTIL_DONE:  # null while the rule is live or the request is running
        return lambda seed: None if seed % 3 == 0 else _hour_stamp(seed)
    if lowered.endswith("at") or lowered in POINTS_IN_TIME:
        return _hour_stamp
    if "email" in lowered:
        return lambda seed: f"person{seed}@example.com"
    if lowered == "id":
        return lambda seed: f"id{seed}"
    prefix = f"{field}-"
    return lambda seed: prefix + str(seed)


@cache
def _hour_of_2026(hour: int) -> str:
    return iso(dt.datetime(2026, 1, 1, tzinfo=dt.UTC) + dt.timedelta(hours=hour))


def _hour_stamp(seed: int) -> str:
    return _hour_of_2026((seed * 7) % 20000)


def secret_settings(seed: int) -> dict[str, Any]:
    """A free-form settings object: some plain keys, some secret-named ones (sentinels)."""
    return {
        "region": "us-west-2",
        "host": f"db{seed}.example.com",
        "port": 5432,
        "enabled": True,
        "apiKey": f"{SENTINEL}-api-{seed}",
        "token": f"{SENTINEL}-token-{seed}",
        "connection": {"user": "loader", "password": f"{SENTINEL}-pw-{seed}"},
        "privateKey": f"{SENTINEL}-pk-{seed}",
        "clientSecret": f"{SENTINEL}-cs-{seed}",
        "credentials": {"json": f"{SENTINEL}-cred-{seed}"},
    }


class Workspace:
    """One workspace's data, generated by index on demand."""

    def __init__(
        self,
        number: int,
        counts: dict[str, int],
        filler: Filler,
        deleted: int,
        clock_anchor: float | None = None,
    ) -> None:
        self.number = number
        self.id = f"ws{number}sandbox"
        self.counts = counts
        self.filler = filler
        self.deleted = deleted
        self._cache: dict[tuple[str, int], dict] = {}
        self._lock = threading.Lock()
        now = (
            dt.datetime.fromtimestamp(clock_anchor, dt.UTC)
            if clock_anchor is not None
            else dt.datetime.now(dt.UTC)
        )
        # Requests are dated from today's midnight (UTC), so two runs the same day see the
        # same request times.
        self.today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        anchor = now.replace(microsecond=0) - AUDIT_NEWEST_AGE
        n = counts["audit_events"]
        self._audit_base = anchor - AUDIT_SPAN
        self._audit_step = AUDIT_SPAN / max(1, n)
        self._audit_anchor = anchor
        self._audit_added = 0

    def oid(self, kind: str, i: int) -> str:
        """The id of object ``i`` of a collection."""
        return f"{kind}-{self.number}-{i}"

    def make(self, kind: str, model: str, i: int, **fixed: Any) -> dict:
        """Object ``i`` of a collection: the model filled, then its identity fixed."""
        key = (kind, i)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        obj = self.filler.model(model, i * 31 + self.number)
        obj.update({"id": self.oid(kind, i), **fixed})
        if "workspaceId" in obj:
            obj["workspaceId"] = self.id
        with self._lock:
            self._cache[key] = obj
        return obj

    def is_deleted(self, kind: str, object_id: str) -> bool:
        """The last ``deleted_children`` objects of a parent collection lost their children."""
        try:
            i = int(object_id.rsplit("-", 1)[1])
        except (IndexError, ValueError):
            return True
        return not (0 <= i < self.counts[kind]) or i >= self.counts[kind] - self.deleted

    # ----- audit trail ---------------------------------------------------------------------
    def audit_count(self) -> int:
        """Events now in the trail (grows with add_audit_events)."""
        return self.counts["audit_events"] + self._audit_added

    def audit_time(self, i: int) -> dt.datetime:
        """Event ``i``'s time: ascending with ``i``, so a time filter is a bisect."""
        base_n = self.counts["audit_events"]
        if i < base_n:
            return self._audit_base + self._audit_step * (i + 1)
        return self._audit_anchor + dt.timedelta(seconds=i - base_n + 1)

    def audit_event(self, i: int) -> dict:
        """Event ``i``, generated on demand (100,000 events cost nothing until read)."""
        event = self.filler.model("AuditEventV1", i)
        stamp = self.audit_time(i).replace(microsecond=0)
        event.update(id=f"events/{self.number}{i + 1:07d}", timestamp=iso(stamp))
        actors = min(AUDIT_ACTORS, self.counts["users"])
        if i % 5 == 2 and actors:
            user = self.make("users", "UserV1", (i // 5) % actors)
            event.update(actor=user["id"], actorEmail=user["email"])
        return event

    # ----- deletion and suppression requests -------------------------------------------------
    def regulation(self, i: int) -> dict:
        """Request ``i``: its status, type and age from REGULATIONS, dated from today."""
        status, kind, subject, days, took = REGULATIONS[i % len(REGULATIONS)]
        created = self.today - dt.timedelta(days=min(89, days + i // len(REGULATIONS)))
        created += dt.timedelta(hours=(7 + i) % 24, minutes=i % 60)
        finished = None if took is None else created + dt.timedelta(days=took, hours=3)
        prefix = "user" if subject == "USER_ID" else "object"
        return {
            "id": self.oid("regulations", i),
            "subjectType": subject,
            "subjects": [f"{prefix}-{self.number}-{i}-{k}" for k in range(1 + i % 3)],
            "status": status,
            "createdAt": iso(created),
            "regulationType": kind,
            "finishedAt": iso(finished) if finished else None,
        }


class SegmentApi(ApiBase):
    """The Segment Public API, as far as the tap reads it."""

    name = "segment"
    endpoints = SEGMENT_ENDPOINTS

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        spec = _spec()
        self.filler = Filler(spec["models"])
        base = {"small": SMALL, "medium": {k: v * 10 for k, v in SMALL.items()}, "large": LARGE}
        counts = {**base.get(options.size, SMALL), **options.counts}
        second = {k: max(1, v // 3) for k, v in SMALL.items()}
        self.workspaces = {
            SEGMENT_TOKEN: Workspace(
                1, counts, self.filler, options.deleted_children, options.clock_anchor
            ),
            SEGMENT_TOKEN_2: Workspace(
                2, second, self.filler, options.deleted_children, options.clock_anchor
            ),
        }
        self._local = threading.local()  # the endpoint limit of the request this thread serves
        self._routes: list[tuple[re.Pattern[str], Callable[..., Any]]] = [
            (re.compile(p + "$"), fn) for p, fn in self._route_table()
        ]
        self._routes += self._derived_routes(spec, [pattern for pattern, _ in self._routes])

    # ----- ApiBase -------------------------------------------------------------------------
    def error(self, status: int, message: str, code: str | None = None) -> ApiResponse:
        """``{"errors": [{"type", "message"}]}``."""
        kinds = {401: "unauthorized", 403: "forbidden", 404: "NotFound", 422: "ValidationFailure"}
        kind = code or kinds.get(status, "InternalServerError" if status >= 500 else "RequestError")
        return ApiResponse(status, {"errors": [{"type": kind, "message": message}]})

    def rate_limited(self, wait_ms: int) -> ApiResponse:
        """429 with ``msBeforeNext`` in the body and ``X-RateLimit-Reset`` (RFC 5322)."""
        reset = email.utils.formatdate(time.time() + wait_ms / 1000, usegmt=True)
        return ApiResponse(
            429,
            {
                "errors": [
                    {
                        "type": "RequestError",
                        "message": "Too many requests",
                        "data": {
                            "remainingPoints": 0,
                            "msBeforeNext": wait_ms,
                            "consumedPoints": 1,
                        },
                    }
                ]
            },
            {"X-RateLimit-Reset": reset, "X-RateLimit-Remaining": "0"},
        )

    def without_list(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` without its list (the first list value: ``sources``, ``users``, ...)."""
        key = next((k for k, v in data.items() if isinstance(v, list)), None)
        return {k: v for k, v in data.items() if k != key}

    def with_next_cursor(self, data: dict[str, Any], cursor: str) -> dict[str, Any]:
        """``data`` with ``pagination.next``."""
        return dict(data, pagination=dict(data.get("pagination") or {}, next=cursor))

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> ApiResponse:
        """Route one authenticated GET."""
        auth = headers.get("authorization", "")
        workspace = self.workspaces.get(auth[7:]) if auth.startswith("Bearer ") else None
        if workspace is None:
            return self.error(401, "Missing or invalid token")
        path = path.rstrip("/") or "/"
        try:
            self._local.limit = limit = self.endpoints.match(path)
            for name in limit.required if limit else ():
                if not query.get(name):
                    raise ApiError(422, "ValidationFailure", f'"{name}" is required', name)
            for pattern, fn in self._routes:
                match = pattern.match(path)
                if match:
                    route = fn
                    if self.world is not None:  # taps_sandbox.world: the world has moved on
                        route = self.world.wrap_segment(self, workspace, path, fn)
                    return ApiResponse(200, {"data": route(workspace, query, *match.groups())})
            raise ApiError(404, "NotFound", "Resource not found")
        except ApiError as exc:
            body = {"type": exc.kind, "message": exc.message}
            if exc.field:
                body["field"] = exc.field
            return ApiResponse(exc.status, {"errors": [body]})

    # ----- helpers for tests ---------------------------------------------------------------
    def get(self, path: str, token: str = SEGMENT_TOKEN, **query: str) -> Any:
        """Call ``handle`` directly (no HTTP) and return the body."""
        headers = {"authorization": f"Bearer {token}"}
        return self.handle(path, {k: [v] for k, v in query.items()}, headers).body

    def workspace_id(self, token_index: int = 1) -> str:
        """Id of workspace 1 (SEGMENT_TOKEN) or 2 (SEGMENT_TOKEN_2)."""
        return self.workspaces[SEGMENT_TOKEN if token_index == 1 else SEGMENT_TOKEN_2].id

    def add_audit_events(self, n: int, token: str = SEGMENT_TOKEN) -> list[str]:
        """Append ``n`` events newer than any before (and not in the future); return ids."""
        ws = self.workspaces[token]
        first = ws.audit_count()
        ws._audit_added += n
        return [ws.audit_event(i)["id"] for i in range(first, first + n)]

    def audit_event_ids(self, start: str | None = None, token: str = SEGMENT_TOKEN) -> list[str]:
        """Ids of every event at or after ``start``."""
        ws = self.workspaces[token]
        lo = self._audit_lo(ws, parse_time(start, "startTime")) if start else 0
        return [ws.audit_event(i)["id"] for i in range(lo, ws.audit_count())]

    # ----- pagination ----------------------------------------------------------------------
    @staticmethod
    def _param(query: dict[str, list[str]], name: str) -> str | None:
        for key in (name, name.replace(".", "[", 1) + "]" if "." in name else name):
            if query.get(key):
                return query[key][0]
        return None

    def _page(self, query: dict[str, list[str]], total: int) -> tuple[int, int]:
        raw = self._param(query, "pagination.count")
        try:
            count = int(raw) if raw is not None else 200
        except ValueError:
            count = 0
        limit = getattr(self._local, "limit", None)
        low, high = (limit.page_min, limit.page_max) if limit and limit.page_max else (1, 1000)
        if not low <= count <= high:
            raise ApiError(
                422,
                "ValidationFailure",
                f'"pagination.count" must be between {low} and {high}',
                "pagination.count",
            )
        cursor = self._param(query, "pagination.cursor")
        offset = 0
        if cursor:
            try:
                offset = int(base64.b64decode(cursor.encode()).decode())
            except ValueError:
                raise ApiError(
                    422, "ValidationFailure", "invalid cursor", "pagination.cursor"
                ) from None
        return max(0, min(offset, total)), count

    @staticmethod
    def _cursor(offset: int) -> str:
        return base64.b64encode(str(offset).encode()).decode()

    def _list(
        self, key: str, query: dict[str, list[str]], total: int, item: Callable[[int], Any]
    ) -> dict:
        offset, count = self._page(query, total)
        end = min(total, offset + count)
        pagination: dict[str, Any] = {"current": self._cursor(offset), "totalEntries": total}
        if end < total:
            pagination["next"] = self._cursor(end)
        if offset > 0:
            pagination["previous"] = self._cursor(max(0, offset - count))
        return {key: [item(i) for i in range(offset, end)], "pagination": pagination}

    def _collection(self, ws: Workspace, query: dict, key: str, kind: str, model: str) -> dict:
        return self._list(key, query, ws.counts[kind], lambda i: ws.make(kind, model, i))

    def _child_of(self, ws: Workspace, kind: str, parent_id: str) -> int:
        if ws.is_deleted(kind, parent_id):
            raise ApiError(404, "NotFound", "Resource not found")
        return int(parent_id.rsplit("-", 1)[1])

    # ----- routes --------------------------------------------------------------------------
    def _route_table(self) -> list[tuple[str, Callable[..., Any]]]:
        c = self._collection
        return [
            ("/", lambda ws, q: {"workspace": self._workspace(ws)}),
            (
                "/sources",
                lambda ws, q: self._list(
                    "sources", q, ws.counts["sources"], lambda i: self._source(ws, i)
                ),
            ),
            ("/sources/([^/]+)/settings", self._source_settings),
            ("/sources/([^/]+)/connected-warehouses", self._source_warehouses),
            (
                "/destinations",
                # Each destination belongs to a real source of the workspace (data flows).
                lambda ws, q: self._list(
                    "destinations",
                    q,
                    ws.counts["destinations"],
                    lambda i: self._destination(ws, i),
                ),
            ),
            ("/destination/([^/]+)/filters", self._destination_filters),
            ("/destinations/([^/]+)/subscriptions", self._destination_subscriptions),
            ("/warehouses", lambda ws, q: c(ws, q, "warehouses", "warehouses", "WarehouseV1")),
            ("/warehouses/([^/]+)/connection-state", self._connection_state),
            ("/warehouses/([^/]+)/syncs", self._warehouse_syncs),
            (
                "/tracking-plans",
                lambda ws, q: c(ws, q, "trackingPlans", "tracking_plans", "TrackingPlanV1"),
            ),
            ("/tracking-plans/([^/]+)/rules", self._rules),
            ("/tracking-plans/([^/]+)/sources", self._plan_sources),
            (
                "/transformations",
                lambda ws, q: c(ws, q, "transformations", "transformations", "TransformationV1"),
            ),
            ("/functions", self._functions),
            (
                "/users",
                lambda ws, q: self._list(
                    "users", q, ws.counts["users"], lambda i: self._user(ws, i)
                ),
            ),
            ("/groups", lambda ws, q: c(ws, q, "userGroups", "user_groups", "UserGroupV1")),
            ("/groups/([^/]+)/users", self._group_users),
            ("/groups/([^/]+)/invites", self._group_invites),
            ("/roles", lambda ws, q: c(ws, q, "roles", "roles", "RoleV1")),
            (
                "/invites",
                lambda ws, q: self._list(
                    "invites",
                    q,
                    ws.counts["invites"],
                    lambda i: f"invitee{ws.number}-{i}@example.com",
                ),
            ),
            ("/labels", self._labels),
            ("/audit-events", self._audit_events),
            (
                "/regulations",
                lambda ws, q: self._list("regulations", q, ws.counts["regulations"], ws.regulation),
            ),
            ("/suppressions", self._suppressions),
            ("/credentials", self._credentials),
            (
                "/usage/api-calls/daily",
                lambda ws, q: self._usage(
                    ws, q, "dailyWorkspaceAPICallsUsage", "APICallSnapshotV1", False
                ),
            ),
            (
                "/usage/api-calls/sources/daily",
                lambda ws, q: self._usage(
                    ws, q, "dailyPerSourceAPICallsUsage", "SourceAPICallSnapshotV1", True
                ),
            ),
            (
                "/usage/mtu/daily",
                lambda ws, q: self._usage(ws, q, "dailyWorkspaceMTUUsage", "MtuSnapshotV1", False),
            ),
            (
                "/usage/mtu/sources/daily",
                lambda ws, q: self._usage(
                    ws, q, "dailyPerSourceMTUUsage", "UsersPerSourceSnapshotV1", True
                ),
            ),
            ("/spaces", lambda ws, q: c(ws, q, "spaces", "spaces", "Space")),
            ("/spaces/([^/]+)/audiences", self._audiences),
            ("/spaces/([^/]+)/computed-traits", self._computed_traits),
            (
                "/reverse-etl-models",
                lambda ws, q: c(ws, q, "models", "reverse_etl_models", "ReverseEtlModel"),
            ),
            (
                "/catalog/sources",
                lambda ws, q: self._catalog(ws, q, "sourcesCatalog", "SourceMetadataV1"),
            ),
            (
                "/catalog/destinations",
                lambda ws, q: self._catalog(ws, q, "destinationsCatalog", "DestinationMetadataV1"),
            ),
            (
                "/catalog/warehouses",
                lambda ws, q: self._catalog(ws, q, "warehousesCatalog", "WarehouseMetadataV1"),
            ),
            ("/events/volume", self._events_volume),
        ]

    # ----- routes derived from the spec ----------------------------------------------------
    def _derived_routes(
        self, spec: dict[str, Any], served: list[re.Pattern[str]]
    ) -> list[tuple[re.Pattern[str], Callable[..., Any]]]:
        """Every other GET the spec documents, served from its own models, so a stream added
        to the tap has an endpoint here without a hand-written route: a list of
        ``counts[<path template>]`` items (default 3, per parent) filled from the item model,
        each naming its parent as the URL does, or the single object filled; required query
        parameters are refused when missing, page sizes outside 1..1000 too."""
        routes: list[tuple[re.Pattern[str], Callable[..., Any]]] = []
        for op in spec["get_operations"]:
            template = op["path"]
            pattern = re.compile(re.sub(r"\{[^}]+\}", "([^/]+)", template) + "$")
            concrete = re.sub(r"\{[^}]+\}", "x", template)
            if template == "/" or any(p.match(concrete) for p in served):
                continue
            routes.append((pattern, self._derived_route(op)))
        return routes

    def _derived_route(self, op: dict[str, Any]) -> Callable[..., Any]:
        template = op["path"]
        placeholders = re.findall(r"\{(\w+)\}", template)
        required = [p["name"] for p in op["parameters"] if p["required"] and p["in"] == "query"]
        lists = [
            (key, model)
            for key, model in zip(op["list_keys"], op["item_models"], strict=True)
            if model != "string"
        ]

        def route(ws: Workspace, q: dict, *parents: str) -> dict:
            for name in required:
                if not self._param(q, name):
                    raise ApiError(422, "ValidationFailure", f'"{name}" is required', name)
            if not lists:
                return self.filler.model(op["data_model"], ws.number)
            key, model = lists[0]
            kind = "-".join(("derived", *parents))

            def item(i: int) -> dict:
                obj = dict(ws.make(template, model, i))
                obj["id"] = f"{kind}-{ws.number}-{i}"
                for name, value in zip(placeholders, parents, strict=True):
                    if name in obj:  # an item names its parent as the URL does
                        obj[name] = value
                return obj

            total = ws.counts.get(template, 3)
            if not op["paginated_output"]:
                return {key: [item(i) for i in range(total)]}
            return self._list(key, q, total, item)

        return route

    def _workspace(self, ws: Workspace) -> dict:
        obj = self.filler.model("WorkspaceV1", ws.number)
        obj.update(id=ws.id, slug=f"sandbox-{ws.number}", name=f"Sandbox workspace {ws.number}")
        return obj

    def _source(self, ws: Workspace, i: int) -> dict:
        obj = ws.make("sources", "SourceV1", i)
        obj["writeKeys"] = [f"{SENTINEL}-wk-{ws.number}-{i}"]
        return obj

    def _user(self, ws: Workspace, i: int) -> dict:
        """User ``i``; SOURCE_SCOPED_USER with roles scoped to a source and to a label."""
        user = ws.make("users", "UserV1", i)
        if i != SOURCE_SCOPED_USER:
            return user
        source = ws.oid("sources", SCOPED_SOURCE % ws.counts["sources"])
        prod = {"key": "environment", "value": "prod", "description": "Production"}
        return {
            **user,
            "permissions": [
                {
                    "roleId": "source-admin",
                    "roleName": "Source Admin",
                    "resources": [{"id": source, "type": "SOURCE", "labels": []}],
                    "labels": [],
                },
                {
                    "roleId": "source-read-only",
                    "roleName": "Source Read-only",
                    "resources": [{"id": ws.id, "type": "WORKSPACE", "labels": [prod]}],
                    "labels": [prod],
                },
                {
                    "roleId": "minimal-workspace-access",
                    "roleName": "Minimal Workspace Access",
                    "resources": [{"id": ws.id, "type": "WORKSPACE", "labels": []}],
                    "labels": [],
                },
            ],
        }

    def _source_settings(self, ws: Workspace, q: dict, source_id: str) -> dict:
        i = self._child_of(ws, "sources", source_id)
        return {"sourceId": source_id, "settings": self.filler.model("SourceSettingsOutputV1", i)}

    def _source_warehouses(self, ws: Workspace, q: dict, source_id: str) -> dict:
        i = self._child_of(ws, "sources", source_id)
        n = ws.counts["warehouses"]
        picks = [(i + k) % n for k in range(min(n, i % 3))]
        return self._list(
            "warehouses", q, len(picks), lambda k: ws.make("warehouses", "WarehouseV1", picks[k])
        )

    def _destination(self, ws: Workspace, i: int) -> dict:
        source = ws.oid("sources", i % ws.counts["sources"])
        return ws.make("destinations", "DestinationV1", i, sourceId=source)

    def _destination_filters(self, ws: Workspace, q: dict, destination_id: str) -> dict:
        i = self._child_of(ws, "destinations", destination_id)
        return self._list(
            "filters",
            q,
            i % 3,
            lambda k: ws.make(
                "filters", "DestinationFilterV1", i * 3 + k, destinationId=destination_id
            ),
        )

    def _destination_subscriptions(self, ws: Workspace, q: dict, destination_id: str) -> dict:
        i = self._child_of(ws, "destinations", destination_id)
        return self._list(
            "subscriptions",
            q,
            (i + 1) % 3,
            lambda k: ws.make(
                "subscriptions", "DestinationSubscription", i * 3 + k, destinationId=destination_id
            ),
        )

    def _connection_state(self, ws: Workspace, q: dict, warehouse_id: str) -> dict:
        i = self._child_of(ws, "warehouses", warehouse_id)
        return {"connectionState": ("CONNECTED", "FAILED", "UNKNOWN")[i % 3]}

    def _warehouse_syncs(self, ws: Workspace, q: dict, warehouse_id: str) -> dict:
        i = self._child_of(ws, "warehouses", warehouse_id)

        def report(k: int) -> dict:
            obj = self.filler.model("SyncV1", i * 10 + k)
            obj.update(sourceId=ws.oid("sources", k % ws.counts["sources"]))
            obj["start"] = iso(
                dt.datetime(2026, 11, 1, tzinfo=dt.UTC) + dt.timedelta(hours=i * 10 + k)
            )
            return obj

        return self._list("reports", q, 2, report)

    def _rules(self, ws: Workspace, q: dict, plan_id: str) -> dict:
        i = self._child_of(ws, "tracking_plans", plan_id)

        def rule(k: int) -> dict:
            obj = self.filler.model("RuleV1", i * 10 + k)
            obj.update(
                key=f"Event {k}", type=("TRACK", "IDENTIFY", "GROUP")[k % 3], version=1 + k % 2
            )
            return obj

        return self._list("rules", q, 3 + i % 5, rule)

    def _plan_sources(self, ws: Workspace, q: dict, plan_id: str) -> dict:
        i = self._child_of(ws, "tracking_plans", plan_id)
        n = ws.counts["sources"]
        return self._list("sources", q, min(n, 2), lambda k: self._source(ws, (i + k) % n))

    def _functions(self, ws: Workspace, q: dict) -> dict:
        kind = (q.get("resourceType") or [None])[0]
        if kind not in FUNCTION_TYPES:
            raise ApiError(422, "ValidationFailure", '"resourceType" is required', "resourceType")
        base = FUNCTION_TYPES.index(kind) * 1000
        return self._list(
            "functions",
            q,
            ws.counts["functions"],
            lambda i: ws.make("functions", "ListFunctionItemV1", base + i, resourceType=kind),
        )

    def _group_users(self, ws: Workspace, q: dict, group_id: str) -> dict:
        i = self._child_of(ws, "user_groups", group_id)
        n = ws.counts["users"]
        members = n if i == 0 else min(n, 2 + i % 3)  # group 0 holds everyone: several pages
        return self._list(
            "users",
            q,
            members,
            lambda k: {
                key: value
                for key, value in ws.make("users", "UserV1", (i + k) % n).items()
                if key in ("id", "name", "email")
            },
        )

    def _group_invites(self, ws: Workspace, q: dict, group_id: str) -> dict:
        i = self._child_of(ws, "user_groups", group_id)
        return self._list("emails", q, 1 + i % 2, lambda k: f"group{i}-invitee{k}@example.com")

    def _labels(self, ws: Workspace, q: dict) -> dict:
        labels = []
        for i in range(ws.counts["labels"]):
            label = self.filler.model("LabelV1", i)
            label.update(key=("env", "team", "region")[i % 3], value=f"value{i}")
            labels.append(label)
        return {"labels": labels}  # the real endpoint has no pagination

    def _audit_lo(self, ws: Workspace, start: dt.datetime) -> int:
        times = _TimeIndex(ws)
        return bisect.bisect_left(times, start)

    def _audit_events(self, ws: Workspace, q: dict) -> dict:
        total = ws.audit_count()
        start = (q.get("startTime") or [None])[0]
        end = (q.get("endTime") or [None])[0]
        lo = self._audit_lo(ws, parse_time(start, "startTime")) if start else 0
        hi = self._audit_lo(ws, parse_time(end, "endTime")) if end else total
        hi = max(lo, hi)
        # Newest first: page position k is event hi - 1 - k.
        return self._list("events", q, hi - lo, lambda k: ws.audit_event(hi - 1 - k))

    def _suppressions(self, ws: Workspace, q: dict) -> dict:
        def item(i: int) -> dict:
            obj = self.filler.model("SuppressedInner", i)
            obj.update(subjectType=("USER_ID", "ANONYMOUS_ID")[i % 2])
            obj["subjectIds"] = [f"subject-{ws.number}-{i}-{k}" for k in range(2 + i % 2)]
            return obj

        return self._list("suppressed", q, ws.counts["suppressions"], item)

    def _credentials(self, ws: Workspace, q: dict) -> dict:
        def item(i: int) -> dict:
            obj = ws.make("credentials", "CredentialV1", i)
            obj["settings"] = secret_settings(1000 + i)
            return obj

        return self._list("credentials", q, ws.counts["credentials"], item)

    def _usage(self, ws: Workspace, q: dict, key: str, model: str, per_source: bool) -> dict:
        period = (q.get("period") or [None])[0]
        if not period:
            raise ApiError(422, "ValidationFailure", '"period" is required', "period")
        month = parse_time(period, "period").date().replace(day=1)
        today = dt.datetime.now(dt.UTC).date()
        last = calendar.monthrange(month.year, month.month)[1]
        days = [month.replace(day=d) for d in range(1, last + 1) if month.replace(day=d) <= today]
        sources = (
            [ws.oid("sources", s) for s in range(min(3, ws.counts["sources"]))]
            if per_source
            else [None]
        )
        rows = [(day, source) for day in days for source in sources]

        def row(k: int) -> dict:
            day, source = rows[k]
            obj = self.filler.model(model, k)
            obj["timestamp"] = iso(dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC))
            if source:
                obj["sourceId"] = source
            return obj

        return self._list(key, q, len(rows), row)

    def _space_child(
        self, ws: Workspace, q: dict, space_id: str, *, key: str, kind: str, model: str
    ) -> dict:
        i = self._child_of(ws, "spaces", space_id)
        # counts["audiences_per_space"] (default 2) makes spaces that need several pages.
        n = ws.counts.get(f"{kind}_per_space", 2)
        return self._list(
            key, q, n, lambda k: ws.make(kind, model, i * 100_000 + k, spaceId=space_id)
        )

    def _audiences(self, ws: Workspace, q: dict, space_id: str) -> dict:
        return self._space_child(
            ws,
            q,
            space_id,
            key="audiences",
            kind="audiences",
            model="AudienceSummaryWithAudienceTypeAndLookback",
        )

    def _computed_traits(self, ws: Workspace, q: dict, space_id: str) -> dict:
        return self._space_child(
            ws,
            q,
            space_id,
            key="computedTraits",
            kind="computed_traits",
            model="ComputedTraitSummary",
        )

    def _catalog(self, ws: Workspace, q: dict, key: str, model: str) -> dict:
        return self._list(key, q, ws.counts["catalog"], lambda i: ws.make(key, model, i))

    def _events_volume(self, ws: Workspace, q: dict) -> dict:
        for name in ("granularity", "startTime", "endTime"):
            if not q.get(name):
                raise ApiError(422, "ValidationFailure", f'"{name}" is required', name)
        start = parse_time(q["startTime"][0], "startTime")
        end = parse_time(q["endTime"][0], "endTime")
        days = []
        moment = start.replace(hour=0, minute=0, second=0, microsecond=0)
        while moment < end and len(days) < 400:
            days.append(moment)
            moment += dt.timedelta(days=1)
        groups = set(q.get("groupBy") or [])

        def item(i: int) -> dict:
            obj = self.filler.model("SourceEventVolumeV1", i)
            obj["source"] = {
                "id": ws.oid("sources", i),
                "name": f"Source {i}",
                "slug": f"source-{i}",
            }
            obj["eventName"] = f"Event {i}" if "eventName" in groups else None
            obj["eventType"] = "TRACK" if "eventType" in groups else None
            obj["series"] = [{"time": iso(d), "count": 10 + i + k} for k, d in enumerate(days)]
            obj["total"] = sum(p["count"] for p in obj["series"])
            return obj

        return self._list("result", q, 2, item)


class _TimeIndex:
    """A sequence view of a workspace's audit timestamps, for bisect (no list built)."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def __len__(self) -> int:
        return self.ws.audit_count()

    def __getitem__(self, i: int) -> dt.datetime:
        return self.ws.audit_time(i).replace(microsecond=0)


API = SegmentApi  # what the server loads (server._load_api)
