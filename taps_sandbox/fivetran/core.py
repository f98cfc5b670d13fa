"""What every Fivetran area shares: auth, Accept, cursors and pages, the error envelope, the
route dispatch, and the id and generation helpers each area builds its objects with.

Each area (``account``, ``groups``, ``connections``, ``platform``, ``transformations``,
``catalog``) is a subclass of ``FivetranCore`` that adds its objects and its routes: its
``_route_table`` returns ``super()._route_table()`` plus its own, so the table ``FivetranApi``
serves is assembled from the areas it is made of.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hmac
import json
import math
import random
import re
from collections.abc import Callable
from functools import cached_property
from typing import Any

from tap_fivetran.endpoints import FIVETRAN_ENDPOINTS
from taps_common.endpoint_limits import EndpointLimit
from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    ApiBase,
    ApiResponse,
    SandboxOptions,
)
from taps_sandbox.fivetran.spec import SchemaFiller, SecretCounter, load_spec
from taps_sandbox.fivetran.values import (
    ACCOUNT_ID,
    ACCOUNT_ROLES,
    ANCHOR,
    COLLECTIONS,
    CONNECTION_SERVICES,
    SIZES,
    SMALL,
    iso,
    word_id,
)


class ApiError(Exception):
    """Raised inside a route to answer with a Fivetran error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def encode_cursor(skip: int) -> str:
    """Opaque cursor: base64url of ``{"skip": n}`` without padding, as Fivetran's docs show."""
    raw = json.dumps({"skip": skip}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The offset inside a cursor; ApiError 400 when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        skip = json.loads(raw)["skip"]
    except (binascii.Error, ValueError, KeyError, TypeError) as exc:
        raise ApiError(400, "InvalidInput", "Invalid cursor value") from exc
    if not isinstance(skip, int) or skip < 0:
        raise ApiError(400, "InvalidInput", "Invalid cursor value")
    return skip


# (path regex, handler, paged) as an area declares it; Route is the compiled form.
RouteSpec = tuple[str, Callable[..., Any], bool]
Route = tuple[re.Pattern[str], Callable[..., Any], bool]


class FivetranCore(ApiBase):
    """Fivetran's envelopes, cursors and errors around the routes the areas declare."""

    name = "fivetran"
    endpoints = FIVETRAN_ENDPOINTS

    def __init__(self, options: SandboxOptions) -> None:
        super().__init__(options)
        sizes = SIZES.get(options.size, SMALL)
        self.counts = {c: int(options.counts.get(c, sizes[c])) for c in COLLECTIONS}
        self._cache: dict[tuple[Any, ...], Any] = {}
        self._ids: dict[str, list[str]] = {}
        self._index: dict[str, dict[str, int]] = {}
        self._bases: dict[str, int] = {}
        base = 0
        for coll in COLLECTIONS:
            self._bases[coll] = base
            base += self.counts[coll]
        self._routes: list[Route] = [
            (re.compile("^" + rx + "$"), fn, paged) for rx, fn, paged in self._route_table()
        ]

    def error(self, status: int, message: str, code: str | None = None) -> ApiResponse:
        """``{"code": ..., "message": ...}`` with Fivetran's code names."""
        codes = {
            400: "InvalidInput",
            401: "AuthFailed",
            403: "Forbidden",
            404: "NotFound",
            405: "MethodNotAllowed",
            406: "NotAcceptable",
            429: "TooManyRequests",
            500: "InternalError",
            501: "NotImplemented",
            502: "BadGateway",
            503: "ServiceUnavailable",
        }
        return ApiResponse(status, {"code": code or codes.get(status, "Error"), "message": message})

    def rate_limited(self, wait_ms: int) -> ApiResponse:
        """429 with ``Retry-After`` in whole seconds (rounded up) and TooManyRequests."""
        seconds = max(0, math.ceil(wait_ms / 1000))
        response = self.error(
            429, f"Too many requests. Retry after {seconds} seconds.", "TooManyRequests"
        )
        response.headers["Retry-After"] = str(seconds)
        return response

    def without_list(self, data: dict[str, Any]) -> dict[str, Any]:
        """``data`` without ``items``."""
        return {k: v for k, v in data.items() if k != "items"}

    def with_next_cursor(self, data: dict[str, Any], cursor: str) -> dict[str, Any]:
        """``data`` with ``next_cursor``."""
        return dict(data, next_cursor=cursor)

    def list_key_paths(self) -> tuple[str, ...]:
        """Where list items live."""
        return ("data.items",)

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> ApiResponse:
        """Route one GET (auth, Accept, pagination, then the endpoint)."""
        path = path.rstrip("/") or "/"
        try:
            public = path == "/public/connector-types"
            if not public and not self._authorized(headers.get("authorization", "")):
                raise ApiError(401, "AuthFailed", "Missing or invalid API key or API secret.")
            self._check_accept(headers.get("accept", ""))
            for pattern, fn, paged in self._routes:
                match = pattern.match(path)
                if not match:
                    continue
                args = match.groups()
                if self.world is not None:  # taps_sandbox.world: the world has moved on
                    fn = self.world.wrap_fivetran(self, path, fn)  # noqa: PLW2901
                if paged:
                    limit, skip = self._page_params(query, self.endpoints.match(path))
                    items = fn(*args, query=query)
                    return self._page(items, skip, limit)
                return ApiResponse(200, {"code": "Success", "data": fn(*args, query=query)})
            raise ApiError(404, "NotFound", f"No endpoint GET {path}")
        except ApiError as exc:
            return self.error(exc.status, exc.message, exc.code)

    # --- routes, assembled from the areas ------------------------------------------------------

    def _route_table(self) -> list[RouteSpec]:
        """(path regex, handler, paged) for every GET served: each area adds its own."""
        return []

    def _r_list(self, coll: str, make: Callable[[int], Any]) -> Callable[..., list[Any]]:
        def route(query: dict[str, list[str]]) -> list[Any]:
            return [make(i) for i in range(len(self._collection_ids(coll)))]

        return route

    def _r_detail(self, coll: str, make: Callable[[int], Any], entity: str) -> Callable[..., Any]:
        def route(ident: str, query: dict[str, list[str]]) -> Any:
            return make(self._idx(coll, ident, entity=entity))

        return route

    # --- helpers for tests ---------------------------------------------------------------------

    def expected_ids(self, collection: str) -> list[str]:
        """Ids of a collection in list order (``roles``: names; ``destinations`` = groups)."""
        return list(self._collection_ids("groups" if collection == "destinations" else collection))

    def auth_headers(self) -> dict[str, str]:
        """Headers a valid client sends (lower-case keys, as ``handle`` expects)."""
        token = base64.b64encode(f"{FIVETRAN_API_KEY}:{FIVETRAN_API_SECRET}".encode()).decode()
        return {"authorization": f"Basic {token}", "accept": "application/json"}

    def get(self, path: str, **query: str) -> Any:
        """Call ``handle`` directly (no HTTP) and return the body: handy in tests."""
        return self.handle(path, {k: [v] for k, v in query.items()}, self.auth_headers()).body

    # --- transport rules -----------------------------------------------------------------------

    @staticmethod
    def _authorized(header: str) -> bool:
        """HTTP Basic with the sandbox key pair; compared in constant time."""
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value:
            return False
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return False
        expected = f"{FIVETRAN_API_KEY}:{FIVETRAN_API_SECRET}"
        return hmac.compare_digest(decoded.encode(), expected.encode())

    @staticmethod
    def _check_accept(accept: str) -> None:
        """406 unless the client accepts JSON (``application/json`` with version 1 or 2)."""
        if not accept.strip():
            return
        for part in accept.split(","):
            media, *params = [p.strip().lower() for p in part.split(";")]
            if media in ("*/*", "application/*"):
                return
            if media == "application/json":
                versions = [p.split("=", 1)[1].strip() for p in params if p.startswith("version=")]
                if not versions or versions[0] in ("1", "2"):
                    return
        raise ApiError(
            406, "NotAcceptable", "Use Accept: application/json or application/json;version=2"
        )

    @staticmethod
    def _page_params(
        query: dict[str, list[str]], endpoint: EndpointLimit | None
    ) -> tuple[int, int]:
        """(limit, skip) from ``limit`` (the endpoint's range, default 100) and ``cursor``."""
        low, high = (endpoint.page_min, endpoint.page_max or 1000) if endpoint else (1, 1000)
        raw_limit = (query.get("limit") or ["100"])[-1]
        try:
            limit = int(raw_limit)
        except ValueError as exc:
            raise ApiError(400, "InvalidInput", f"limit must be an integer {low}..{high}") from exc
        if not low <= limit <= high:
            raise ApiError(400, "InvalidInput", f"limit must be between {low} and {high}")
        cursor = (query.get("cursor") or [""])[-1]
        return limit, decode_cursor(cursor) if cursor else 0

    @staticmethod
    def _page(items: list[Any], skip: int, limit: int) -> ApiResponse:
        """One page of a list; ``next_cursor`` only when more items follow."""
        data: dict[str, Any] = {"items": items[skip : skip + limit]}
        if skip + limit < len(items):
            data["next_cursor"] = encode_cursor(skip + limit)
        return ApiResponse(200, {"code": "Success", "data": data})

    # --- ids and generation -------------------------------------------------------------------

    @cached_property
    def _filler(self) -> SchemaFiller:
        return SchemaFiller(load_spec())

    def _collection_ids(self, coll: str) -> list[str]:
        ids = self._ids.get(coll)
        if ids is None:
            if coll == "roles":
                ids = [
                    ACCOUNT_ROLES[i] if i < len(ACCOUNT_ROLES) else f"Custom Role {i}"
                    for i in range(self.counts["roles"])
                ]
            elif coll == "connector_types":
                ids = self._service_ids()
            else:
                base = self._bases[coll]
                ids = [word_id(base + i) for i in range(self.counts[coll])]
            self._index[coll] = {v: i for i, v in enumerate(ids)}
            self._ids[coll] = ids
        return ids

    def _service_ids(self) -> list[str]:
        mapping = self._filler.schemas["ConnectorResponseV1"]["discriminator"]["mapping"]
        ordered = list(CONNECTION_SERVICES) + sorted(set(mapping) - set(CONNECTION_SERVICES))
        return ordered[: self.counts["connector_types"]]

    def _idx(self, coll: str, ident: str, code: str = "", entity: str = "") -> int:
        """Index of an id in its collection; ApiError 404 in Fivetran's wording if unknown:
        ``NotFound_<Entity>`` names the object (plain ``NotFound`` is for a missing route)."""
        self._collection_ids(coll)
        index = self._index[coll].get(ident)
        if index is None:
            raise ApiError(
                404,
                code or f"NotFound_{entity or coll}",
                f"Cannot find entity '{entity or coll}' with id '{ident}'.",
            )
        return index

    def _rng(self, *key: Any) -> random.Random:
        return random.Random(":".join(str(k) for k in (self.options.seed, *key)))

    def _pick(self, coll: str, rng: random.Random) -> str:
        ids = self._collection_ids(coll)
        return ids[rng.randrange(len(ids))] if ids else ""

    def _cached(self, key: tuple[Any, ...], make: Callable[[], Any]) -> Any:
        value = self._cache.get(key)
        if value is None:
            value = make()
            self._cache[key] = value
        return value

    def _model(self, model: str, coll: str, i: int, variant: str = "") -> Any:
        """Fill a spec model for object ``i`` of ``coll`` and point its references at real ids."""
        rng = self._rng(coll, i, model)
        secrets = SecretCounter((self._bases.get(coll, 0) + i) * 100)
        value = self._filler.model(model, rng, secrets, variant)
        self._fix_references(value, rng)
        return value

    def _fix_references(self, value: Any, rng: random.Random) -> None:
        """Make id fields outside ``config`` refer to objects that exist in this account."""
        targets = {
            "group_id": "groups",
            "destination_id": "groups",
            "connection_id": "connections",
            "user_id": "users",
            "created_by": "users",
            "created_by_id": "users",
            "connected_by": "users",
            "validated_by": "users",
            "last_updated_by": "users",
            "project_id": "transformation_projects",
            "proxy_agent_id": "proxy_agents",
            "private_link_id": "private_links",
            "hybrid_deployment_agent_id": "hybrid_deployment_agents",
            "local_processing_agent_id": "hybrid_deployment_agents",
            "external_secrets_manager_id": "external_secrets_managers",
            "secret_manager_id": "external_secrets_managers",
            "system_key_id": "system_keys",
            "connection_ids": "connections",
            "transformation_ids": "transformations",
            "ids": "connections",
            "group_ids": "groups",
        }
        if isinstance(value, list):
            for item in value:
                self._fix_references(item, rng)
            return
        if not isinstance(value, dict):
            return
        for key, sub in value.items():
            if key == "config":
                continue
            coll = targets.get(key)
            if coll and isinstance(sub, str):
                value[key] = self._pick(coll, rng)
            elif coll and isinstance(sub, list):
                value[key] = sorted({self._pick(coll, rng) for _ in sub})
            elif key == "account_id" and isinstance(sub, str):
                value[key] = ACCOUNT_ID
            else:
                self._fix_references(sub, rng)

    def _setup_tests(self, *key: Any) -> list[dict[str, Any]]:
        """SetupTestResultResponse items whose message matches their status."""
        rng = self._rng("setup_tests", *key)
        tests = []
        for title in ("Connecting to host", "Validating credentials", "Checking permissions"):
            status = (
                "FAILED" if rng.random() < 0.1 else "WARNING" if rng.random() < 0.1 else "PASSED"
            )
            message = {
                "PASSED": "",
                "WARNING": "Some tables are not readable.",
                "FAILED": "Authentication failed: check the credentials.",
            }[status]
            details: Any = {"checked_at": iso(ANCHOR - dt.timedelta(hours=rng.randint(1, 500)))}
            if status == "FAILED":  # the spec says object; its own examples show a sentence
                details = f"{message} ({title}, code 401)"
            tests.append({"title": title, "status": status, "message": message, "details": details})
        return tests

    def _created(self, coll: str, i: int, min_days: int = 60, max_days: int = 900) -> dt.datetime:
        rng = self._rng(coll, i, "created")
        return ANCHOR - dt.timedelta(
            days=rng.randint(min_days, max_days),
            seconds=rng.randint(0, 86399),
            microseconds=rng.randint(0, 999_999),
        )

    def _simple(
        self, coll: str, model: str, i: int, variant: str = "", **fields: Any
    ) -> dict[str, Any]:
        """A spec model with id (and other fixed fields) set."""

        def make() -> dict[str, Any]:
            value = self._model(model, coll, i, variant)
            value["id"] = self._collection_ids(coll)[i]
            value.update(fields)
            return value

        return self._cached((coll, model, i), make)
