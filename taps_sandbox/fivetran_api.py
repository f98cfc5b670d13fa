"""Fivetran REST API emulator (read side), data generated from the vendored OpenAPI spec.

Objects are generated from their index on demand (deterministic from ``options.seed``) and
cached, so a 2,000-connection account starts instantly and each object costs one schema walk.
Every field of each item model is filled, so the taps' schemas are exercised end to end.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import math
import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from tap_fivetran.endpoints import FIVETRAN_ENDPOINTS
from taps_common.endpoint_limits import EndpointLimit
from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SENTINEL,
    ApiBase,
    ApiResponse,
    SandboxOptions,
)

SPEC_NAME = "fivetran-rest-api.json"
# The repo keeps specs/ next to the package; an installed copy may carry them inside it.
SPEC_DIRS = (
    Path(__file__).resolve().parent / "specs",
    Path(__file__).resolve().parent.parent / "specs",
)
ACCOUNT_ID = "acct_sandbox_1"
ANCHOR = dt.datetime(2025, 10, 1, tzinfo=dt.UTC)  # generated history ends here (sync history: now)
SYNC_EVERY = dt.timedelta(hours=6)
SYNC_HISTORY_DAYS = 30
MAX_WINDOW = dt.timedelta(days=7)
FUNCTION_SERVICES = frozenset(
    {"connector_sdk", "aws_lambda", "azure_function", "google_cloud_function"}
)
SECRET_NAME = re.compile(r"password|secret|token|key|private|credential", re.IGNORECASE)

# fmt: off
# Services the sandbox's connections and destinations use; every one has a spec variant.
CONNECTION_SERVICES = (
    "postgres", "salesforce", "google_sheets", "hubspot", "stripe", "mysql",
    "fivetran_log", "connector_sdk", "github", "zendesk", "s3", "google_ads",
)
DESTINATION_SERVICES = ("snowflake", "big_query", "redshift", "postgres_warehouse", "databricks")
ACCOUNT_ROLES = (
    "Account Administrator", "Account Billing", "Account Analyst", "Account Reviewer",
    "Destination Creator", "Account Security Administrator",
)
GROUP_ROLES = ("Destination Administrator", "Destination Reviewer", "Destination Analyst")
CONNECTION_ROLES = ("Connector Administrator", "Connector Reviewer")
LOG_SERVICES = ("cloudwatch", "datadog_log", "stackdriver", "splunkLog", "new_relic_log")
WEBHOOK_EVENTS = (
    "sync_start", "sync_end", "status", "dbt_run_succeeded", "transformation_run_failed",
)

ADJECTIVES = (
    "amber", "brisk", "calm", "dapper", "eager", "fancy", "gentle", "hasty", "icy", "jolly",
    "keen", "lucid", "mellow", "nimble", "opal", "proud", "quiet", "rapid", "sunny", "tidy",
    "upbeat", "vivid", "witty", "young", "zesty", "bold", "crisp", "deft", "early", "fair",
    "grand", "humble", "ideal", "jade", "kind", "lush", "mild", "noble", "open", "plush",
)
NOUNS = (
    "anchor", "badger", "cactus", "dolphin", "ember", "falcon", "glacier", "harbor", "island",
    "jigsaw", "kettle", "lantern", "meadow", "nectar", "orchid", "pebble", "quartz", "river",
    "saddle", "tundra", "umbrella", "violet", "walnut", "yonder", "zephyr", "beacon", "canyon",
    "delta", "echo", "fjord", "grove", "heron", "iris", "juniper", "kelp", "lagoon", "maple",
    "nomad", "otter", "prairie",
)
GIVEN = ("Ada", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jon", "Kai")
FAMILY = ("Lovelace", "Okafor", "Nguyen", "Patel", "Rossi", "Schmidt", "Tanaka", "Walsh", "Zhou")

# Collections in id-allocation order (ids never repeat across collections).
COLLECTIONS = (
    "groups", "connections", "users", "teams", "webhooks", "system_keys", "transformations",
    "transformation_projects", "private_links", "proxy_agents", "hybrid_deployment_agents",
    "log_services", "external_secrets_managers", "connector_sdk_packages", "package_metadata",
    "roles", "connector_types",
)
SMALL = {
    "groups": 7, "connections": 12, "users": 9, "teams": 3, "webhooks": 3, "system_keys": 3,
    "transformations": 3, "transformation_projects": 2, "private_links": 2, "proxy_agents": 2,
    "hybrid_deployment_agents": 2, "log_services": 2, "external_secrets_managers": 2,
    "connector_sdk_packages": 2, "package_metadata": 2, "roles": 4, "connector_types": 4,
}
# fmt: on
SIZES: dict[str, dict[str, int]] = {
    "small": SMALL,
    "medium": {k: v * 10 for k, v in SMALL.items()},
    "large": {
        **{k: v * 5 for k, v in SMALL.items()},
        "groups": 50,
        "connections": 2000,
        "users": 300,
        "teams": 40,
    },
}

_SPEC: dict[str, Any] | None = None
_SPEC_LOCK = threading.Lock()


def load_spec() -> dict[str, Any]:
    """The vendored OpenAPI document, parsed once per process (3 MB)."""
    global _SPEC  # noqa: PLW0603
    with _SPEC_LOCK:
        if _SPEC is None:
            found = [d / SPEC_NAME for d in SPEC_DIRS if (d / SPEC_NAME).is_file()]
            if not found:
                raise FileNotFoundError(f"{SPEC_NAME} not found in {[str(d) for d in SPEC_DIRS]}")
            _SPEC = json.loads(found[0].read_text(encoding="utf-8"))
        return _SPEC


_PASSWORD_NAMES: frozenset[str] | None = None


def password_field_names() -> frozenset[str]:
    """Every property name the spec marks ``format: password`` anywhere, read here from the
    spec and not from the tap's table, so a name the table lacks shows up as a leak."""
    global _PASSWORD_NAMES  # noqa: PLW0603
    if _PASSWORD_NAMES is None:
        found: set[str] = set()
        stack: list[tuple[Any, str]] = [(load_spec(), "")]
        while stack:
            node, name = stack.pop()
            if isinstance(node, list):
                stack.extend((item, name) for item in node)
            elif isinstance(node, dict):
                if node.get("format") == "password" and name:
                    found.add(name)
                for key, sub in node.items():
                    if key == "properties" and isinstance(sub, dict):
                        stack.extend((v, k) for k, v in sub.items())
                    else:
                        stack.append(
                            (sub, name if key in ("items", "allOf", "oneOf", "anyOf") else "")
                        )
        _PASSWORD_NAMES = frozenset(found)
    return _PASSWORD_NAMES


def sentinel_password_fields(value: Any, label: str, names: frozenset[str]) -> Any:
    """``value`` with a sentinel in every config field named like a spec password field.

    The tap redacts by field name across services, and Fivetran reuses names (``username`` is
    a password in some connectors, plain in others): a secret in any field of that name must
    never leave the tap. Applied after the fill, so the random stream stays as it was.
    """

    def secret(sub: Any, where: str) -> Any:
        if isinstance(sub, dict):
            return {k: secret(v, f"{where}-{k}") for k, v in sub.items()}
        if isinstance(sub, list):
            return [secret(v, f"{where}-{n}") for n, v in enumerate(sub)]
        if sub is None or isinstance(sub, bool) or (isinstance(sub, str) and SENTINEL in sub):
            return sub
        return f"{SENTINEL}-{where}"

    def walk(node: Any, where: str) -> Any:
        if isinstance(node, dict):
            return {
                k: secret(v, f"{where}-{k}") if k in names else walk(v, f"{where}-{k}")
                for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v, f"{where}-{n}") for n, v in enumerate(node)]
        return node

    return walk(value, label)


def iso(moment: dt.datetime) -> str:
    """ISO-8601 UTC with microseconds, as Fivetran writes timestamps."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(value: str) -> dt.datetime:
    """Parse an ISO-8601 timestamp (``Z`` or offset; naive means UTC)."""
    parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def word_id(k: int) -> str:
    """A Fivetran-looking id (``adjective_noun``) for global number ``k``; injective."""
    space = len(ADJECTIVES) * len(NOUNS)
    block, rest = divmod(k, space)
    rest = (rest * 997) % space  # scramble so neighbours do not look sequential
    base = f"{ADJECTIVES[rest % len(ADJECTIVES)]}_{NOUNS[rest // len(ADJECTIVES)]}"
    return base if block == 0 else f"{base}{block}"


class ApiError(Exception):
    """Raised inside a route to answer with a Fivetran error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class SchemaFiller:
    """Walks OpenAPI schemas and fills every property with a plausible value of its type."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.schemas: dict[str, Any] = spec["components"]["schemas"]

    def model(
        self, name: str, rng: random.Random, secrets: SecretCounter, variant: str = ""
    ) -> Any:
        """Fill model ``name``; for a discriminated model, the variant for ``variant``."""
        schema = self.schemas[name]
        mapping = schema.get("discriminator", {}).get("mapping", {})
        if variant and variant in mapping:
            schema = self.ref(mapping[variant])
        value = _Walk(self, rng, secrets).fill(schema, _Ctx())
        prop = schema.get("discriminator", {}).get("propertyName")
        if prop and variant and isinstance(value, dict):
            value[prop] = variant
        return value

    def ref(self, ref: str) -> dict[str, Any]:
        """Resolve a local ``#/components/schemas/X`` reference."""
        return self.schemas[ref.rsplit("/", 1)[-1]]


@dataclass(frozen=True)
class _Ctx:
    """Where the walk is: property name, depth, inside ``config``, under a secret-named key."""

    name: str = ""
    depth: int = 0
    in_config: bool = False
    secret: bool = False

    def child(self, key: str) -> _Ctx:
        in_config = self.in_config or key == "config"
        secret = self.secret or (self.in_config and bool(SECRET_NAME.search(key)))
        return _Ctx(key, self.depth + 1, in_config, secret)


class _Walk:
    """One object's fill: its random stream and its secret numbering."""

    def __init__(self, filler: SchemaFiller, rng: random.Random, secrets: SecretCounter) -> None:
        self.filler, self.rng, self.secrets = filler, rng, secrets

    def fill(self, schema: dict[str, Any], ctx: _Ctx) -> Any:
        """One value for ``schema``; ``ctx.name`` (the property name) drives plausible strings."""
        rng = self.rng
        if "$ref" in schema:
            schema = self.filler.ref(schema["$ref"])
        if "allOf" in schema:
            merged: Any = None
            for part in schema["allOf"]:
                merged = deep_merge(merged, self.fill(part, ctx))
            own = {k: v for k, v in schema.items() if k not in ("allOf", "discriminator")}
            if own.get("properties"):
                merged = deep_merge(merged, self.fill(own, ctx))
            return merged
        kind = schema.get("type")
        if "enum" in schema:
            if kind == "array":  # the spec puts some item enums on the array itself
                return [coerce(rng.choice(schema["enum"]), None)]
            return coerce(rng.choice(schema["enum"]), kind)
        if kind == "object" or "properties" in schema:
            return self.fill_object(schema, ctx)
        if kind == "array":
            example = schema.get("example")
            secret = ctx.in_config and (ctx.secret or SECRET_NAME.search(ctx.name))
            if (
                isinstance(example, list)
                and example
                and not secret
                and all(isinstance(x, str) for x in example)
            ):
                return list(example)
            items = schema.get("items", {"type": "string"})
            inner = _Ctx(ctx.name, ctx.depth + 1, ctx.in_config, ctx.secret)
            return [self.fill(items, inner) for _ in range(rng.randint(1, 2))]
        if kind == "boolean":
            return rng.random() < 0.5
        if kind == "integer":
            return plausible_int(ctx.name, schema.get("example"), rng)
        if kind == "number":
            return round(rng.uniform(0, 100), 2)
        return self.fill_string(schema, ctx)

    def fill_object(self, schema: dict[str, Any], ctx: _Ctx) -> dict[str, Any]:
        """Every declared property; maps get one or two entries; free-form gets a small dict."""
        if ctx.depth > 8:
            return {}
        props = schema.get("properties")
        if props:
            return {key: self.fill(sub, ctx.child(key)) for key, sub in props.items()}
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and extra:
            return {
                f"entry_{n}": self.fill(extra, ctx.child("entry"))
                for n in range(1, self.rng.randint(1, 2) + 1)
            }
        if ctx.secret:
            return {"value": self.secrets.next()}
        return {"attribute": f"value_{self.rng.randint(1, 99)}", "enabled": self.rng.random() < 0.5}

    def fill_string(self, schema: dict[str, Any], ctx: _Ctx) -> str:
        """A string that looks like what the field holds."""
        rng = self.rng
        fmt = schema.get("format")
        lname = ctx.name.lower()
        if fmt == "password" or ctx.secret or (ctx.in_config and SECRET_NAME.search(lname)):
            return self.secrets.next()
        if fmt == "date-time" or lname.endswith(("_at", "_date")):
            return iso(
                ANCHOR
                - dt.timedelta(
                    seconds=rng.randint(0, 365 * 86400), microseconds=rng.randint(0, 999_999)
                )
            )
        if fmt == "byte":
            return base64.b64encode(rng.randbytes(12)).decode()
        if "email" in lname:
            return f"{rng.choice(GIVEN).lower()}.{rng.choice(FAMILY).lower()}@example.com"
        if "url" in lname or "link" in lname or lname in ("picture", "endpoint", "uri"):
            return f"https://{rng.choice(NOUNS)}.example.com/{rng.choice(ADJECTIVES)}"
        if "host" in lname:
            return f"{rng.choice(NOUNS)}-{rng.randint(1, 9)}.example.internal"
        if lname == "id" or lname.endswith("_id"):
            return word_id(rng.randint(50_000, 90_000))
        example = schema.get("example")
        if isinstance(example, str) and example and example.lower() not in ("string", "..."):
            return example
        if isinstance(example, (int, float)) and not isinstance(example, bool):
            return str(example)
        return f"{lname or 'value'}_{rng.choice(NOUNS)}"


class SecretCounter:
    """Hands out ``SENTINEL-<n>`` values, numbered per object so they stay deterministic."""

    def __init__(self, base: int) -> None:
        self.base = base
        self.n = 0

    def next(self) -> str:
        """The next secret value for this object."""
        self.n += 1
        return f"{SENTINEL}-{self.base + self.n}"


def deep_merge(left: Any, right: Any) -> Any:
    """Merge allOf parts: dicts recursively, otherwise the right side wins."""
    if isinstance(left, dict) and isinstance(right, dict):
        out = dict(left)
        for key, value in right.items():
            out[key] = deep_merge(out.get(key), value) if key in out else value
        return out
    return right if right is not None else left


def coerce(value: Any, kind: str | None) -> Any:
    """Enum values in the spec are sometimes strings for integer fields; honour the type."""
    if kind == "integer":
        try:
            return int(value)
        except (TypeError, ValueError):
            return 0
    if kind == "boolean":
        return bool(value)
    return value


def plausible_int(name: str, example: Any, rng: random.Random) -> int:
    """Ports look like ports; other integers stay small and positive."""
    if "port" in name.lower():
        return rng.choice((443, 5432, 3306, 1433, 22))
    if isinstance(example, int) and not isinstance(example, bool) and example > 0:
        return example
    return rng.randint(1, 500)


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


Route = tuple[re.Pattern[str], Callable[..., Any], bool]


class FivetranApi(ApiBase):
    """Every GET the tap-fivetran contract uses, with Fivetran's envelopes, cursors and errors."""

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

    # --- ApiBase contract ----------------------------------------------------------------------

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

    # --- helpers for tests ---------------------------------------------------------------------

    def expected_ids(self, collection: str) -> list[str]:
        """Ids of a collection in list order (``roles``: names; ``destinations`` = groups)."""
        return list(self._collection_ids("groups" if collection == "destinations" else collection))

    def connections_without_schema(self) -> list[str]:
        """Connections answering 404 NotFound_SchemaConfig: every index i with i % 10 == 3."""
        return [c for i, c in enumerate(self._collection_ids("connections")) if i % 10 == 3]

    def deleted_connections(self) -> list[str]:
        """The last ``options.deleted_children`` connections: listed, but 404 on detail/children."""
        ids = self._collection_ids("connections")
        n = max(0, min(self.options.deleted_children, len(ids)))
        return ids[len(ids) - n :]

    @cached_property
    def _no_schema(self) -> frozenset[str]:
        return frozenset(self.connections_without_schema())

    @cached_property
    def _deleted(self) -> frozenset[str]:
        return frozenset(self.deleted_connections())

    def function_connections(self) -> list[str]:
        """Connections whose ``/state`` answers (Function / Connector SDK services)."""
        return [
            c
            for c in self._collection_ids("connections")
            if self._connection_service(self._idx("connections", c)) in FUNCTION_SERVICES
        ]

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

    # --- groups and destinations ------------------------------------------------------------------

    def group(self, i: int) -> dict[str, Any]:
        """GroupResponse for group ``i``."""

        def make() -> dict[str, Any]:
            ids = self._collection_ids("groups")
            rng = self._rng("groups", i)
            return {
                "id": ids[i],
                "name": f"{rng.choice(NOUNS).capitalize()} Warehouse {i + 1}",
                "created_at": iso(self._created("groups", i)),
            }

        return self._cached(("group", i), make)

    def destination(self, i: int) -> dict[str, Any]:
        """DestinationExtendedResponse for group ``i`` (destination id == group id)."""

        def make() -> dict[str, Any]:
            gid = self._collection_ids("groups")[i]
            services = self.options.fivetran_destination_services or DESTINATION_SERVICES
            service = services[i % len(services)]
            value = self._model("DestinationExtendedResponse", "groups", i, service)
            value.update(id=gid, group_id=gid, service=service)
            if "config" in value:
                value["config"] = sentinel_password_fields(
                    value["config"], f"destination-{i}", password_field_names()
                )
            value["setup_status"] = ("CONNECTED", "CONNECTED", "INCOMPLETE", "BROKEN")[i % 4]
            value["setup_tests"] = self._setup_tests("destination", i)
            return value

        return self._cached(("destination", i), make)

    def destination_item(self, i: int) -> dict[str, Any]:
        """DestinationResponse (list item): the detail minus config and setup_tests."""
        keys = self._filler.schemas["DestinationResponse"]["properties"]
        detail = self.destination(i)
        return {k: detail[k] for k in keys if k in detail}

    # --- connections ---------------------------------------------------------------------------

    def _connection_service(self, i: int) -> str:
        services = self.options.fivetran_connection_services or CONNECTION_SERVICES
        return services[i % len(services)]

    def connection(self, i: int) -> dict[str, Any]:
        """ConnectorResponseV1 (detail) for connection ``i``, with its per-service config."""

        def make() -> dict[str, Any]:
            ids = self._collection_ids("connections")
            groups = self._collection_ids("groups")
            users = self._collection_ids("users")
            service = self._connection_service(i)
            value = self._model("ConnectorResponseV1", "connections", i, service)
            rng = self._rng("connections", i, "fields")
            created = self._created("connections", i, SYNC_HISTORY_DAYS + 40)
            value.update(
                id=ids[i],
                service=service,
                schema=f"{service}_{i}",
                group_id=groups[i % len(groups)] if groups else "",
                connected_by=users[i % len(users)] if users else "",
                created_at=iso(created),
                paused=i % 6 == 5,
                schedule_type="auto",
                sync_frequency=360,
                daily_sync_time=f"{i % 24:02d}:00",
                succeeded_at=iso(ANCHOR - dt.timedelta(hours=rng.randint(1, 48))),
                failed_at=iso(ANCHOR - dt.timedelta(days=rng.randint(3, 40))),
            )
            status = value.get("status") or {}
            status.update(
                setup_state=("connected", "connected", "connected", "broken", "incomplete")[i % 5],
                sync_state="paused" if i % 6 == 5 else rng.choice(("scheduled", "syncing")),
                update_state=rng.choice(("on_schedule", "delayed")),
                schema_status="ready",
                is_historical_sync=False,
            )
            value["status"] = status
            value["setup_tests"] = self._setup_tests("connection", i)
            if "config" in value:
                value["config"] = sentinel_password_fields(
                    value["config"], f"connection-{i}", password_field_names()
                )
            proxies = self._collection_ids("proxy_agents")
            if proxies:
                value["proxy_agent_id"] = proxies[i % len(proxies)]
            return value

        return self._cached(("connection", i), make)

    def connection_item(self, i: int) -> dict[str, Any]:
        """ConnectorResponse (list item): same values as the detail, list model's fields."""

        def make() -> dict[str, Any]:
            detail = self.connection(i)
            keys = self._filler.schemas["ConnectorResponse"]["properties"]
            item = {k: detail[k] for k in keys if k in detail}
            missing = [k for k in keys if k not in item]
            if missing:
                extra = self._model("ConnectorResponse", "connections", i)
                item.update({k: extra[k] for k in missing if k in extra})
            return item

        return self._cached(("connection_item", i), make)

    def _live_connection(self, cid: str) -> int:
        """Index of a connection that still exists; 404 NotFound_Connector otherwise."""
        i = self._idx("connections", cid, "NotFound_Connector", "Connector")
        if cid in self._deleted:
            raise ApiError(
                404, "NotFound_Connector", f"Cannot find entity 'Connector' with id '{cid}'."
            )
        return i

    def schema_config(self, i: int) -> dict[str, Any]:
        """StandardConfigResponse: 1-3 schemas, 1-4 tables each, some tables with columns."""

        def make() -> dict[str, Any]:
            rng = self._rng("schemas", i)
            schemas: dict[str, Any] = {}
            for s in range(rng.randint(1, 3)):
                sname = ("public", "sales", "analytics", "raw")[s]
                tables: dict[str, Any] = {}
                for t in range(rng.randint(1, 4)):
                    tname = f"{rng.choice(NOUNS)}_{t}"
                    columns = {}
                    if rng.random() < 0.6:
                        for c in range(rng.randint(1, 3)):
                            cname = f"{rng.choice(ADJECTIVES)}_col_{c}"
                            columns[cname] = {
                                "name_in_destination": cname,
                                "enabled": rng.random() < 0.8,
                                "hashed": rng.random() < 0.2,
                                "is_primary_key": c == 0,
                                "enabled_patch_settings": {
                                    "allowed": c != 0,
                                    **(
                                        {}
                                        if c != 0
                                        else {
                                            "reason_code": "SYSTEM_COLUMN",
                                            "reason": "Primary key column",
                                        }
                                    ),
                                },
                            }
                    tables[tname] = {
                        "sync_mode": rng.choice(("SOFT_DELETE", "HISTORY", "LIVE")),
                        "name_in_destination": tname,
                        "enabled": rng.random() < 0.85,
                        "columns": columns,
                        "enabled_patch_settings": {"allowed": True},
                        "supports_columns_config": True,
                        "supports_history_mode": rng.random() < 0.5,
                    }
                schemas[sname] = {"name_in_destination": sname, "enabled": True, "tables": tables}
            return {
                "enable_new_by_default": rng.random() < 0.5,
                "schema_change_handling": rng.choice(("ALLOW_ALL", "ALLOW_COLUMNS", "BLOCK_ALL")),
                "schemas": schemas,
            }

        return self._cached(("schema_config", i), make)

    def _certificates(self, owner: str, i: int, kind: str) -> list[dict[str, Any]]:
        """Certificates (connections i%3==0, groups i%2==0) or fingerprints (i%4==1, i%3==0)."""

        def make() -> list[dict[str, Any]]:
            if kind == "certificates":
                count = (1 + i % 2) if (i % 3 == 0 if owner == "connections" else i % 2 == 0) else 0
            else:
                count = (1 + i % 2) if (i % 4 == 1 if owner == "connections" else i % 3 == 0) else 0
            users = self._collection_ids("users")
            out = []
            for n in range(count):
                rng = self._rng(owner, i, kind, n)
                digest = hashlib.sha256(f"{owner}:{i}:{kind}:{n}".encode()).digest()
                item: dict[str, Any] = {
                    "id": base64.urlsafe_b64encode(digest[:24]).decode().rstrip("="),
                    "hash": base64.b64encode(digest[:18]).decode(),
                    "public_key": (
                        "Sun RSA public key, 2048 bits params: null modulus: "
                        f"{int.from_bytes(digest[:16], 'big')} public exponent: 65537"
                        if kind == "certificates"
                        else "ssh-rsa AAAAB3NzaC1yc2E" + digest.hex()[:40]
                    ),
                    "validated_date": iso(ANCHOR - dt.timedelta(days=rng.randint(1, 200))),
                    "validated_by": users[rng.randrange(len(users))] if users else "",
                }
                if kind == "certificates":
                    item.update(
                        name=f"{rng.choice(NOUNS)}-ca-{n}",
                        type="TLS",
                        sha1=hashlib.sha1(digest, usedforsecurity=False).hexdigest(),
                        sha256=digest.hex(),
                    )
                out.append(item)
            return out

        return self._cached((owner, kind, i), make)

    # --- users, teams, memberships ------------------------------------------------------------

    def user(self, i: int) -> dict[str, Any]:
        """UserResponse for user ``i``."""

        def make() -> dict[str, Any]:
            value = self._model("UserResponse", "users", i)
            given, family = GIVEN[i % len(GIVEN)], FAMILY[(i // len(GIVEN) + i) % len(FAMILY)]
            created = self._created("users", i)
            rng = self._rng("users", i, "fields")
            value.update(
                id=self._collection_ids("users")[i],
                email=f"{given.lower()}.{family.lower()}{i}@example.com",
                given_name=given,
                family_name=family,
                role=ACCOUNT_ROLES[i % len(ACCOUNT_ROLES)] if i else "Account Administrator",
                active=i % 8 != 7,
                verified=i % 5 != 4,
                invited=i % 5 == 4,
                picture=f"https://avatars.example.com/{i}.png",
                phone=f"+1 555 01{i % 100:02d}",
                created_at=iso(created),
                logged_in_at=iso(ANCHOR - dt.timedelta(hours=rng.randint(1, 24 * 30))),
            )
            return value

        return self._cached(("user", i), make)

    def _subset(self, coll: str, key: tuple[Any, ...], low: int, high: int) -> list[int]:
        n = self.counts[coll]
        rng = self._rng(*key)
        return sorted(rng.sample(range(n), min(n, rng.randint(low, high))))

    def user_groups(self, u: int) -> list[int]:
        """Groups user ``u`` belongs to; users 0 and 1 belong to every group (long lists)."""
        if u < 2:
            return list(range(self.counts["groups"]))
        return self._subset("groups", ("user_groups", u), 0, 2)

    def user_connections(self, u: int) -> list[int]:
        """Connections user ``u`` is a member of; users 0 and 1 have up to 25."""
        if u < 2:
            return list(range(min(25, self.counts["connections"])))
        return self._subset("connections", ("user_connections", u), 0, 3)

    def team_users(self, t: int) -> list[int]:
        """Users in team ``t`` (team 0 has at least five)."""
        return self._subset("users", ("team_users", t), 5 if t == 0 else 1, 6)

    def team_groups(self, t: int) -> list[int]:
        """Groups team ``t`` has a role in."""
        return self._subset("groups", ("team_groups", t), 4 if t == 0 else 1, 4)

    def team_connections(self, t: int) -> list[int]:
        """Connections team ``t`` has a role in."""
        return self._subset("connections", ("team_connections", t), 4 if t == 0 else 1, 5)

    def _membership(
        self, key: tuple[Any, ...], ident: str, roles: tuple[str, ...], id_key: str = "id"
    ) -> dict[str, Any]:
        rng = self._rng(*key)
        return {
            id_key: ident,
            "role": rng.choice(roles),
            "created_at": iso(
                ANCHOR
                - dt.timedelta(days=rng.randint(1, 300), microseconds=rng.randint(0, 999_999))
            ),
        }

    def team(self, i: int) -> dict[str, Any]:
        """TeamResponse for team ``i``."""

        def make() -> dict[str, Any]:
            rng = self._rng("teams", i)
            noun = rng.choice(NOUNS)
            return {
                "id": self._collection_ids("teams")[i],
                "name": f"Team {noun.capitalize()} {i + 1}",
                "description": f"Owns the {noun} pipelines",
                "role": rng.choice(ACCOUNT_ROLES[:4]),
            }

        return self._cached(("team", i), make)

    # --- other top-level collections ------------------------------------------------------------

    def role(self, i: int) -> dict[str, Any]:
        """RoleResponse: standard roles first, then custom ones."""
        name = self._collection_ids("roles")[i]
        custom = i >= len(ACCOUNT_ROLES)
        return {
            "name": name,
            "description": f"{name}: {'custom' if custom else 'standard'} permissions",
            "scope": ["ACCOUNT"] if not custom else ["DESTINATION", "CONNECTOR"],
            "is_custom": custom,
            "is_deprecated": name == "Account Billing",
            "replacement_role_name": "Account Reviewer" if name == "Account Billing" else "",
        }

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

    def webhook(self, i: int) -> dict[str, Any]:
        """WebhookResponse; ``secret`` carries a sentinel (the real API masks it)."""

        def make() -> dict[str, Any]:
            value = self._model("WebhookResponse", "webhooks", i)
            groups = self._collection_ids("groups")
            value.update(
                id=self._collection_ids("webhooks")[i],
                type="account" if i % 3 == 2 else "group",
                url=f"https://hooks.example.com/fivetran/{i}",
                events=list(WEBHOOK_EVENTS[: 2 + i % 3]),
                secret=f"{SENTINEL}-webhook-{i}",
                group_id=groups[i % len(groups)] if groups else "",
            )
            return value

        return self._cached(("webhook", i), make)

    def system_key(self, i: int) -> dict[str, Any]:
        """SystemKeyResponse; ``secret`` carries a sentinel."""

        def make() -> dict[str, Any]:
            value = self._model("SystemKeyResponse", "system_keys", i)
            value.update(
                id=self._collection_ids("system_keys")[i],
                name=f"system-key-{i + 1}",
                key=f"ft_{hashlib.sha256(f'sk{i}'.encode()).hexdigest()[:20]}",
                secret=f"{SENTINEL}-system-key-{i}",
            )
            return value

        return self._cached(("system_key", i), make)

    def transformation(self, i: int) -> dict[str, Any]:
        """TransformationResponse (DBT_CORE / QUICKSTART variants)."""
        variant = ("DBT_CORE", "QUICKSTART")[i % 2]
        return self._simple("transformations", "TransformationResponse", i, variant, type=variant)

    def transformation_project(self, i: int, detail: bool = False) -> dict[str, Any]:
        """TransformationProjectResponse, or the details model."""
        full = self._simple(
            "transformation_projects",
            "TransformationProjectDetailsResponse",
            i,
            "DBT_CORE",
            type="DBT_CORE",
        )
        if detail:
            return full
        keys = self._filler.schemas["TransformationProjectResponse"]["properties"]
        return {k: full[k] for k in keys if k in full}

    def private_link(self, i: int) -> dict[str, Any]:
        """PrivateLinkResponse with its per-service config."""
        services = ("SNOWFLAKE_AWS", "DATABRICKS_AWS", "SOURCE_GCP", "SNOWFLAKE_AZURE")
        service = services[i % len(services)]
        return self._simple(
            "private_links",
            "PrivateLinkResponse",
            i,
            service,
            service=service,
            name=f"private-link-{i + 1}",
        )

    def proxy_agent(self, i: int, detail: bool = False) -> dict[str, Any]:
        """ProxyAgentWithCountsResponse (or the usage model) with real connection counts."""
        model = "ProxyAgentWithUsageResponse" if detail else "ProxyAgentWithCountsResponse"
        value = self._simple("proxy_agents", model, i, display_name=f"proxy-agent-{i + 1}")
        if "connector_count" in value:
            value["connector_count"] = len(self.proxy_connections(i))
        return value

    def proxy_connections(self, p: int) -> list[int]:
        """Connections routed through proxy agent ``p`` (index i % agents == p)."""
        n = self.counts["proxy_agents"]
        return [i for i in range(self.counts["connections"]) if n and i % n == p]

    def hybrid_agent(self, i: int) -> dict[str, Any]:
        """HybridDeploymentAgentWithUsageResponse."""
        return self._simple(
            "hybrid_deployment_agents",
            "HybridDeploymentAgentWithUsageResponse",
            i,
            display_name=f"hda-{i + 1}",
        )

    def log_service(self, i: int, detail: bool = False) -> dict[str, Any]:
        """LogResponse, or LogExtendedResponse with its per-service config."""
        service = LOG_SERVICES[i % len(LOG_SERVICES)]
        full = self._simple("log_services", "LogExtendedResponse", i, service, service=service)
        if detail:
            return full
        keys = self._filler.schemas["LogResponse"]["properties"]
        return {k: full[k] for k in keys if k in full}

    def secrets_manager(self, i: int) -> dict[str, Any]:
        """SecretsManagerResponse."""
        kind = ("AWS_SECRET_MANAGER", "AZURE_KEY_VAULT", "HASHICORP_VAULT")[i % 3]
        # The spec types config values as objects: one settings block per manager.
        config = {
            "settings": {"region": "us-east-1", "vault_url": f"https://vault-{i}.example.com"}
        }
        return self._simple(
            "external_secrets_managers",
            "SecretsManagerResponse",
            i,
            type=kind,
            name=f"esm-{i + 1}",
            config=config,
        )

    def esm_entities(self, e: int) -> list[dict[str, Any]]:
        """Entities (a few connections and destinations) whose secrets live in ESM ``e``."""
        esm_id = self._collection_ids("external_secrets_managers")[e]
        out = []
        for coll, kind, name_of in (
            ("connections", "SOURCE", lambda j: f"conn_{j}"),
            ("groups", "DESTINATION", lambda j: f"dest_{j}"),
        ):
            ids = self._collection_ids(coll)
            for j in range(len(ids)):
                if j % self.counts["external_secrets_managers"] == e and len(out) < 6:
                    rng = self._rng("esm", e, coll, j)
                    name = (
                        self.connection_item(j)["schema"] if coll == "connections" else name_of(j)
                    )
                    out.append(
                        {
                            "id": ids[j],
                            "name": name,
                            "enabled": rng.random() < 0.8,
                            "type": kind,
                            "secret_manager_id": esm_id,
                            "created_at": iso(ANCHOR - dt.timedelta(days=rng.randint(1, 100))),
                        }
                    )
        return out

    def sdk_package(self, i: int) -> dict[str, Any]:
        """ConnectorSdkPackageResponse pointing at a connector_sdk connection."""
        sdk = self.function_connections() or self._collection_ids("connections")
        digest = hashlib.sha256(f"pkg{i}".encode()).hexdigest()
        return self._simple(
            "connector_sdk_packages",
            "ConnectorSdkPackageResponse",
            i,
            connection_id=sdk[i % len(sdk)] if sdk else "",
            file_sha256_hash=digest,
        )

    def package_metadata(self, i: int) -> dict[str, Any]:
        """TransformationPackageMetadataResponse."""
        service = CONNECTION_SERVICES[i % len(CONNECTION_SERVICES)]
        return self._simple(
            "package_metadata",
            "TransformationPackageMetadataResponse",
            i,
            name=f"fivetran/{service}",
            connector_types=[service],
            version=f"0.{i + 1}.0",
        )

    def connector_type(self, i: int, detail: bool = False) -> dict[str, Any]:
        """MetadataResponseShort (or MetadataResponse) for a service."""
        service = self._collection_ids("connector_types")[i]
        model = "MetadataResponse" if detail else "MetadataResponseShort"

        def make() -> dict[str, Any]:
            value = self._model(model, "connector_types", i)
            value.update(
                id=service,
                name=service.replace("_", " ").title(),
                link_to_docs=f"https://fivetran.com/docs/connectors/{service}",
            )
            return value

        return self._cached(("connector_type", model, i), make)

    def account_info(self) -> dict[str, Any]:
        """AccountInfoResponse (both user_id and system_key_id filled, for schema coverage)."""
        users = self._collection_ids("users")
        keys = self._collection_ids("system_keys")
        return {
            "account_id": ACCOUNT_ID,
            "account_name": "Sandbox Account",
            "user_id": users[0] if users else "",
            "system_key_id": keys[0] if keys else "",
        }

    def sync_history(self, i: int, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        """Syncs every 6 hours over the past 30 days up to now (``clock_anchor`` when set), oldest
        first, in [start, end)."""
        cid = self._collection_ids("connections")[i]
        offset = dt.timedelta(minutes=self._rng("sync_offset", i).randint(0, 359))
        anchor = self.options.clock_anchor  # a fixed "now": two runs see the same history
        now = dt.datetime.fromtimestamp(anchor, dt.UTC) if anchor else dt.datetime.now(dt.UTC)
        epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
        first = max(start, now - dt.timedelta(days=SYNC_HISTORY_DAYS))
        slot = math.floor((first - epoch - offset) / SYNC_EVERY)
        out = []
        while True:
            begin = epoch + offset + slot * SYNC_EVERY
            slot += 1
            if begin >= end or begin > now:
                break
            if begin < first:
                continue
            rng = self._rng("sync", i, int(begin.timestamp()))
            finish = begin + dt.timedelta(
                minutes=rng.randint(2, 50),
                seconds=rng.randint(0, 59),
                microseconds=rng.randint(0, 999_999),
            )
            if finish > now:
                break
            roll = rng.random()
            status = "FAILED" if roll < 0.08 else "CANCELED" if roll < 0.1 else "COMPLETED"
            out.append(
                {
                    "id": f"{cid}_{int(begin.timestamp())}",
                    "connection_id": cid,
                    "start_time": iso(begin),
                    "end_time": iso(finish),
                    "status": status,
                    "sync_type": "HISTORICAL" if rng.random() < 0.05 else "INCREMENTAL",
                    "rows_updated_or_inserted": 0
                    if status != "COMPLETED"
                    else rng.randint(0, 50_000),
                }
            )
        return out

    # --- routes --------------------------------------------------------------------------------

    def _route_table(self) -> list[tuple[str, Callable[..., Any], bool]]:
        """(path regex, handler, paged) for every GET served."""
        seg = r"([^/]+)"
        return [
            (r"/public/connector-types", self._r_connector_types, True),
            (r"/v1/account/info", lambda query: self.account_info(), False),
            (r"/v1/groups", self._r_list("groups", self.group), True),
            (rf"/v1/groups/{seg}", self._r_detail("groups", self.group, "Group"), False),
            (rf"/v1/groups/{seg}/connections", self._r_group_connections, True),
            (rf"/v1/groups/{seg}/users", self._r_group_users, True),
            (rf"/v1/groups/{seg}/public-key", self._r_group_key, False),
            (rf"/v1/groups/{seg}/service-account", self._r_group_sa, False),
            (r"/v1/destinations", self._r_list("groups", self.destination_item), True),
            (
                rf"/v1/destinations/{seg}",
                self._r_detail("groups", self.destination, "Destination"),
                False,
            ),
            (rf"/v1/destinations/{seg}/(certificates|fingerprints)", self._r_dest_certs, True),
            (
                rf"/v1/destinations/{seg}/(certificates|fingerprints)/{seg}",
                self._r_dest_cert,
                False,
            ),
            (r"/v1/connections", self._r_connections, True),
            (rf"/v1/connections/{seg}", self._r_connection, False),
            (rf"/v1/connections/{seg}/(certificates|fingerprints)", self._r_conn_certs, True),
            (rf"/v1/connections/{seg}/(certificates|fingerprints)/{seg}", self._r_conn_cert, False),
            (rf"/v1/connections/{seg}/schemas", self._r_schemas, False),
            (rf"/v1/connections/{seg}/schemas/{seg}/tables/{seg}/columns", self._r_columns, False),
            (rf"/v1/connections/{seg}/state", self._r_state, False),
            (rf"/v1/connections/{seg}/sync-history", self._r_sync_history, True),
            (r"/v1/users", self._r_users, True),
            (rf"/v1/users/{seg}", self._r_detail("users", self.user, "User"), False),
            (rf"/v1/users/{seg}/groups", self._r_user_groups, True),
            (rf"/v1/users/{seg}/groups/{seg}", self._r_user_group, False),
            (rf"/v1/users/{seg}/connections", self._r_user_connections, True),
            (rf"/v1/users/{seg}/connections/{seg}", self._r_user_connection, False),
            (r"/v1/teams", self._r_list("teams", self.team), True),
            (rf"/v1/teams/{seg}", self._r_detail("teams", self.team, "Team"), False),
            (rf"/v1/teams/{seg}/users", self._r_team_users, True),
            (rf"/v1/teams/{seg}/users/{seg}", self._r_team_user, False),
            (rf"/v1/teams/{seg}/groups", self._r_team_groups, True),
            (rf"/v1/teams/{seg}/groups/{seg}", self._r_team_group, False),
            (rf"/v1/teams/{seg}/connections", self._r_team_connections, True),
            (rf"/v1/teams/{seg}/connections/{seg}", self._r_team_connection, False),
            (r"/v1/roles", self._r_list("roles", self.role), True),
            (r"/v1/webhooks", self._r_list("webhooks", self.webhook), True),
            (rf"/v1/webhooks/{seg}", self._r_detail("webhooks", self.webhook, "Webhook"), False),
            (r"/v1/system-keys", self._r_list("system_keys", self.system_key), True),
            (
                rf"/v1/system-keys/{seg}",
                self._r_detail("system_keys", self.system_key, "SystemKey"),
                False,
            ),
            (r"/v1/transformations", self._r_transformations, True),
            (r"/v1/transformations/package-metadata", self._r_package_metadata, True),
            (
                rf"/v1/transformations/package-metadata/{seg}",
                self._r_detail("package_metadata", self.package_metadata, "PackageMetadata"),
                False,
            ),
            (
                rf"/v1/transformations/{seg}",
                self._r_detail("transformations", self.transformation, "Transformation"),
                False,
            ),
            (
                r"/v1/transformation-projects",
                self._r_list("transformation_projects", self.transformation_project),
                True,
            ),
            (
                rf"/v1/transformation-projects/{seg}",
                self._r_detail(
                    "transformation_projects",
                    lambda i: self.transformation_project(i, detail=True),
                    "TransformationProject",
                ),
                False,
            ),
            (r"/v1/private-links", self._r_list("private_links", self.private_link), True),
            (
                rf"/v1/private-links/{seg}",
                self._r_detail("private_links", self.private_link, "PrivateLink"),
                False,
            ),
            (r"/v1/proxy", self._r_list("proxy_agents", self.proxy_agent), True),
            (
                rf"/v1/proxy/{seg}",
                self._r_detail(
                    "proxy_agents", lambda i: self.proxy_agent(i, detail=True), "ProxyAgent"
                ),
                False,
            ),
            (rf"/v1/proxy/{seg}/connections", self._r_proxy_connections, True),
            (r"/v1/hybrid-deployment-agents", self._r_hdas, True),
            (
                rf"/v1/hybrid-deployment-agents/{seg}",
                self._r_detail("hybrid_deployment_agents", self.hybrid_agent, "Agent"),
                False,
            ),
            (r"/v1/external-logging", self._r_list("log_services", self.log_service), True),
            (r"/v1/external-logging/account", self._r_account_log, False),
            (
                rf"/v1/external-logging/{seg}",
                self._r_detail("log_services", lambda i: self.log_service(i, detail=True), "Log"),
                False,
            ),
            (
                r"/v1/external-secrets-managers",
                self._r_list("external_secrets_managers", self.secrets_manager),
                True,
            ),
            (
                rf"/v1/external-secrets-managers/{seg}",
                self._r_detail(
                    "external_secrets_managers", self.secrets_manager, "ExternalSecretsManager"
                ),
                False,
            ),
            (rf"/v1/external-secrets-managers/{seg}/entities", self._r_esm_entities, False),
            (r"/v1/external-secrets-managers-entities", self._r_all_esm_entities, False),
            (
                r"/v1/connector-sdk/packages",
                self._r_list("connector_sdk_packages", self.sdk_package),
                True,
            ),
            (
                rf"/v1/connector-sdk/packages/{seg}",
                self._r_detail("connector_sdk_packages", self.sdk_package, "Package"),
                False,
            ),
            (r"/v1/metadata/connector-types", self._r_connector_types, True),
            (rf"/v1/metadata/connector-types/{seg}", self._r_connector_type, False),
        ]

    def _r_list(self, coll: str, make: Callable[[int], Any]) -> Callable[..., list[Any]]:
        def route(query: dict[str, list[str]]) -> list[Any]:
            return [make(i) for i in range(len(self._collection_ids(coll)))]

        return route

    def _r_detail(self, coll: str, make: Callable[[int], Any], entity: str) -> Callable[..., Any]:
        def route(ident: str, query: dict[str, list[str]]) -> Any:
            return make(self._idx(coll, ident, entity=entity))

        return route

    def _r_connections(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.connection_item(i) for i in range(self.counts["connections"])]
        if query.get("group_id"):
            items = [c for c in items if c["group_id"] == query["group_id"][-1]]
        if query.get("schema"):
            items = [c for c in items if c["schema"] == query["schema"][-1]]
        return items

    def _r_connection(self, cid: str, query: dict[str, list[str]]) -> Any:
        return self.connection(self._live_connection(cid))

    def _r_group_connections(self, gid: str, query: dict[str, list[str]]) -> list[Any]:
        self._idx("groups", gid, entity="Group")
        return self._r_connections({**query, "group_id": [gid]})

    def _r_group_users(self, gid: str, query: dict[str, list[str]]) -> list[Any]:
        g = self._idx("groups", gid, entity="Group")
        users = [self.user(u) for u in range(self.counts["users"]) if g in self.user_groups(u)]
        return _filter_active(users, query)

    def _r_group_key(self, gid: str, query: dict[str, list[str]]) -> Any:
        g = self._idx("groups", gid, entity="Group")
        digest = hashlib.sha256(f"ssh{g}".encode()).digest()
        return {
            "public_key": "ssh-rsa AAAAB3NzaC1yc2E"
            + base64.b64encode(digest).decode()
            + f" fivetran user key {gid}"
        }

    def _r_group_sa(self, gid: str, query: dict[str, list[str]]) -> Any:
        self._idx("groups", gid, entity="Group")
        return {
            "service_account": f"g-{gid.replace('_', '-')}@fivetran-production"
            ".iam.gserviceaccount.com"
        }

    def _r_dest_certs(self, did: str, kind: str, query: dict[str, list[str]]) -> list[Any]:
        return self._certificates("groups", self._idx("groups", did, entity="Destination"), kind)

    def _r_dest_cert(self, did: str, kind: str, ident: str, query: dict[str, list[str]]) -> Any:
        return _find_cert(self._r_dest_certs(did, kind, query), ident, kind)

    def _r_conn_certs(self, cid: str, kind: str, query: dict[str, list[str]]) -> list[Any]:
        return self._certificates("connections", self._live_connection(cid), kind)

    def _r_conn_cert(self, cid: str, kind: str, ident: str, query: dict[str, list[str]]) -> Any:
        return _find_cert(self._r_conn_certs(cid, kind, query), ident, kind)

    def _r_schemas(self, cid: str, query: dict[str, list[str]]) -> Any:
        i = self._live_connection(cid)
        if cid in self._no_schema:
            raise ApiError(
                404,
                "NotFound_SchemaConfig",
                f"Connection with id '{cid}' doesn't have schema config",
            )
        return self.schema_config(i)

    def _r_columns(self, cid: str, schema: str, table: str, query: dict[str, list[str]]) -> Any:
        config = self._r_schemas(cid, query)
        try:
            columns = config["schemas"][schema]["tables"][table]["columns"]
        except KeyError as exc:
            raise ApiError(
                404, "NotFound_Table", f"Table '{schema}.{table}' not found in connection '{cid}'"
            ) from exc
        return {"columns": columns}

    def _r_state(self, cid: str, query: dict[str, list[str]]) -> Any:
        i = self._live_connection(cid)
        if self._connection_service(i) not in FUNCTION_SERVICES:
            raise ApiError(
                400,
                "InvalidInput",
                "Only Function and Connector SDK connectors support this operation",
            )
        return {"state": {"cursor": iso(ANCHOR), "page": i}}

    def _r_sync_history(self, cid: str, query: dict[str, list[str]]) -> list[Any]:
        i = self._live_connection(cid)
        now = dt.datetime.now(dt.UTC)
        try:
            end = parse_iso(query["end_time"][-1]) if query.get("end_time") else now
            start = (
                parse_iso(query["start_time"][-1])
                if query.get("start_time")
                else end - dt.timedelta(hours=1)
            )
        except ValueError as exc:
            raise ApiError(
                400, "InvalidInput", "start_time and end_time must be ISO 8601 timestamps"
            ) from exc
        if end <= start:
            raise ApiError(400, "InvalidInput", "end_time must be after start_time")
        if end - start > MAX_WINDOW:
            raise ApiError(400, "InvalidInput", "The time window must not exceed 7 days")
        return self.sync_history(i, start, end)

    def _r_users(self, query: dict[str, list[str]]) -> list[Any]:
        return _filter_active([self.user(u) for u in range(self.counts["users"])], query)

    def _r_user_groups(self, uid: str, query: dict[str, list[str]]) -> list[Any]:
        u = self._idx("users", uid, entity="User")
        gids = self._collection_ids("groups")
        return [self._membership(("ug", u, g), gids[g], GROUP_ROLES) for g in self.user_groups(u)]

    def _r_user_group(self, uid: str, gid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_user_groups(uid, query), "id", gid, "Membership")

    def _r_user_connections(self, uid: str, query: dict[str, list[str]]) -> list[Any]:
        u = self._idx("users", uid, entity="User")
        cids = self._collection_ids("connections")
        return [
            self._membership(("uc", u, c), cids[c], CONNECTION_ROLES)
            for c in self.user_connections(u)
        ]

    def _r_user_connection(self, uid: str, cid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_user_connections(uid, query), "id", cid, "Membership")

    def _r_team_users(self, tid: str, query: dict[str, list[str]]) -> list[Any]:
        t = self._idx("teams", tid, entity="Team")
        uids = self._collection_ids("users")
        items = [
            self._membership(("tu", t, u), uids[u], ("Team Member", "Team Manager"), "user_id")
            for u in self.team_users(t)
        ]
        if query.get("active"):
            want = query["active"][-1].lower() == "true"
            items = [
                m
                for m, u in zip(items, self.team_users(t), strict=True)
                if self.user(u)["active"] == want
            ]
        return items

    def _r_team_user(self, tid: str, uid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_team_users(tid, {}), "user_id", uid, "TeamMembership")

    def _r_team_groups(self, tid: str, query: dict[str, list[str]]) -> list[Any]:
        t = self._idx("teams", tid, entity="Team")
        gids = self._collection_ids("groups")
        return [self._membership(("tg", t, g), gids[g], GROUP_ROLES) for g in self.team_groups(t)]

    def _r_team_group(self, tid: str, gid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_team_groups(tid, query), "id", gid, "Membership")

    def _r_team_connections(self, tid: str, query: dict[str, list[str]]) -> list[Any]:
        t = self._idx("teams", tid, entity="Team")
        cids = self._collection_ids("connections")
        return [
            self._membership(("tc", t, c), cids[c], CONNECTION_ROLES)
            for c in self.team_connections(t)
        ]

    def _r_team_connection(self, tid: str, cid: str, query: dict[str, list[str]]) -> Any:
        return _find_member(self._r_team_connections(tid, query), "id", cid, "Membership")

    def _r_transformations(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.transformation(i) for i in range(self.counts["transformations"])]
        for param, field in (("type", "type"),):
            if query.get(param):
                items = [t for t in items if t.get(field) == query[param][-1]]
        if query.get("project_id"):
            want = query["project_id"][-1]
            items = [
                t for t in items if (t.get("transformation_config") or {}).get("project_id") == want
            ]
        if query.get("group_id"):
            items = [t for t in items if t.get("group_id") == query["group_id"][-1]]
        return items

    def _r_package_metadata(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.package_metadata(i) for i in range(self.counts["package_metadata"])]
        if query.get("name"):
            items = [p for p in items if p["name"] == query["name"][-1]]
        if query.get("service"):
            items = [p for p in items if query["service"][-1] in p.get("connector_types", [])]
        return items

    def _r_proxy_connections(self, pid: str, query: dict[str, list[str]]) -> list[Any]:
        p = self._idx("proxy_agents", pid, entity="ProxyAgent")
        cids = self._collection_ids("connections")
        return [{"connection_id": cids[i]} for i in self.proxy_connections(p)]

    def _r_hdas(self, query: dict[str, list[str]]) -> list[Any]:
        items = [self.hybrid_agent(i) for i in range(self.counts["hybrid_deployment_agents"])]
        if query.get("groupId"):
            items = [a for a in items if a.get("group_id") == query["groupId"][-1]]
        return items

    def _r_account_log(self, query: dict[str, list[str]]) -> Any:
        if not self.counts["log_services"]:
            raise ApiError(404, "NotFound", "No account-level log service")
        return self.log_service(0, detail=True)

    def _r_esm_entities(self, eid: str, query: dict[str, list[str]]) -> Any:
        e = self._idx("external_secrets_managers", eid, entity="ExternalSecretsManager")
        items = self.esm_entities(e)
        if query.get("type"):
            items = [x for x in items if x["type"] == query["type"][-1]]
        return {"items": items}

    def _r_all_esm_entities(self, query: dict[str, list[str]]) -> Any:
        items = [
            x for e in range(self.counts["external_secrets_managers"]) for x in self.esm_entities(e)
        ]
        if query.get("esm_id"):
            items = [x for x in items if x["secret_manager_id"] == query["esm_id"][-1]]
        if query.get("type"):
            items = [x for x in items if x["type"] == query["type"][-1]]
        return {"items": items}

    def _r_connector_types(self, query: dict[str, list[str]]) -> list[Any]:
        return [self.connector_type(i) for i in range(self.counts["connector_types"])]

    def _r_connector_type(self, service: str, query: dict[str, list[str]]) -> Any:
        return self.connector_type(
            self._idx("connector_types", service, entity="Service"), detail=True
        )


def _filter_active(users: list[dict[str, Any]], query: dict[str, list[str]]) -> list[Any]:
    """The ``active`` query filter of user lists."""
    if not query.get("active"):
        return users
    want = query["active"][-1].lower() == "true"
    return [u for u in users if u.get("active") == want]


def _find_cert(items: list[dict[str, Any]], ident: str, kind: str) -> Any:
    """A certificate or fingerprint by ``id`` (or ``hash``)."""
    for item in items:
        if ident in (item["id"], item["hash"]):
            return item
    entity = "Certificate" if kind == "certificates" else "Fingerprint"
    raise ApiError(404, f"NotFound_{entity}", f"Cannot find entity '{entity}' with id '{ident}'.")


def _find_member(items: list[dict[str, Any]], key: str, ident: str, entity: str) -> Any:
    """One membership of a list, 404 when the pair has none."""
    for item in items:
        if item[key] == ident:
            return item
    raise ApiError(404, f"NotFound_{entity}", f"Cannot find entity '{entity}' with id '{ident}'.")
