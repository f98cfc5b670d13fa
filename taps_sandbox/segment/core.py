"""What every Segment area shares: the bearer token's workspace, the envelopes and errors,
pagination, and the routes derived from the spec for every GET no area writes by hand.

Each area (``sources``, ``protocols``, ``access``, ``privacy``, ``engage``, ``usage``) is a
subclass of ``SegmentCore`` adding its routes: its ``_route_table`` returns
``super()._route_table()`` plus its own, so the table ``SegmentApi`` serves is assembled from
the areas it is made of (then the derived routes, for what none of them serves).
"""

from __future__ import annotations

import base64
import email.utils
import re
import threading
import time
from collections.abc import Callable
from typing import Any

from tap_segment.endpoints import SEGMENT_ENDPOINTS
from taps_sandbox.base import SEGMENT_TOKEN, SEGMENT_TOKEN_2, ApiBase, ApiResponse, SandboxOptions
from taps_sandbox.segment.data import LARGE, SMALL, ApiError, Filler, load_spec
from taps_sandbox.segment.workspace import Workspace

# (path regex, handler) as an area declares it.
RouteSpec = tuple[str, Callable[..., Any]]


class SegmentCore(ApiBase):
    """The Segment Public API's envelopes, pagination and errors around the areas' routes."""

    name = "segment"
    endpoints = SEGMENT_ENDPOINTS

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        spec = load_spec()
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

    # ----- routes, assembled from the areas ------------------------------------------------
    def _route_table(self) -> list[RouteSpec]:
        """(path regex, handler) for every GET served by hand: each area adds its own."""
        return []

    # ----- helpers for tests ---------------------------------------------------------------
    def get(self, path: str, token: str = SEGMENT_TOKEN, **query: str) -> Any:
        """Call ``handle`` directly (no HTTP) and return the body."""
        headers = {"authorization": f"Bearer {token}"}
        return self.handle(path, {k: [v] for k, v in query.items()}, headers).body

    def workspace_id(self, token_index: int = 1) -> str:
        """Id of workspace 1 (SEGMENT_TOKEN) or 2 (SEGMENT_TOKEN_2)."""
        return self.workspaces[SEGMENT_TOKEN if token_index == 1 else SEGMENT_TOKEN_2].id

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
