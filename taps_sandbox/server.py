"""The sandbox HTTP server: both emulated APIs behind one loopback port.

The server owns everything that is the same for both APIs (sockets, latency, rate limit, gating,
fault injection, broken responses, the request log), so each API module stays a pure function
from one authenticated GET to one response.
"""

from __future__ import annotations

import base64
import importlib
import random
import re
import socket
import struct
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from taps_sandbox.base import FAULT_KINDS, ApiBase, ApiResponse, SandboxOptions
from taps_sandbox.world import World

HOST = "127.0.0.1"
API_NAMES = ("segment", "fivetran")
CONTROL_PREFIX = "/_sandbox"
REPEAT_CURSOR = "repeat"
BROKEN_KINDS = (
    "invalid_json",
    "missing_list_key",
    "repeat_cursor",
    "html_error",
    "error_envelope_200",
    "scalar_in_map",
)
HTML_PROXY_PAGE = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


class _NotImplementedApi(ApiBase):
    """Stands in for an API whose module is missing: every request gets a 501."""

    def __init__(self, options: SandboxOptions, name: str) -> None:
        super().__init__(options)
        self.name = name

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> ApiResponse:
        """Say plainly that this API is not emulated."""
        return self.error(501, f"the {self.name} emulator is not available")

    def error(self, status: int, message: str, code: str | None = None) -> ApiResponse:
        """A neutral error body."""
        return ApiResponse(status, {"error": code or "NotImplemented", "message": message})

    def rate_limited(self, wait_ms: int) -> ApiResponse:
        """A neutral 429."""
        return ApiResponse(429, {"error": "TooManyRequests", "message": "slow down"})

    def without_list(self, data: dict[str, Any]) -> dict[str, Any]:
        """No lists are served: ``data`` as it is."""
        return data

    def with_next_cursor(self, data: dict[str, Any], cursor: str) -> dict[str, Any]:
        """No lists are served: ``data`` as it is."""
        return data


def _load_api(name: str, options: SandboxOptions) -> ApiBase:
    """The class ``API`` of ``taps_sandbox.<name>_api``, imported lazily: one missing emulator
    must not stop the other."""
    try:
        module = importlib.import_module(f"taps_sandbox.{name}_api")
    except ModuleNotFoundError as exc:
        if exc.name != f"taps_sandbox.{name}_api":
            raise
        return _NotImplementedApi(options, name)
    api: ApiBase = module.API(options)
    return api


def _refuse_unknown(what: str, kinds: Iterable[str], known: tuple[str, ...]) -> None:
    """ValueError naming the first kind not in ``known``, and the known ones."""
    for kind in kinds:
        if kind not in known:
            raise ValueError(f"unknown {what} kind {kind!r}; known: {', '.join(map(repr, known))}")


def _credential(authorization: str) -> str:
    """The token (Bearer) or API key (Basic) a request carries, for per-credential rules."""
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() == "basic":
        try:
            return base64.b64decode(value).decode().split(":", 1)[0]
        except ValueError:
            return ""
    return value


def _path_matches_prefix(path: str, prefix: str) -> bool:
    """Prefix match on whole path segments, so ``/v1/users`` does not gate ``/v1/users-x``;
    a ``*`` segment matches any one segment (``/tracking-plans/*/rules``)."""
    prefix = prefix.rstrip("/") or "/"
    if "*" in prefix:
        parts = [re.escape(p) if p != "*" else "[^/]+" for p in prefix.split("/")]
        return re.match("/".join(parts) + "(/|$)", path) is not None
    return path == prefix or path.startswith(prefix if prefix == "/" else prefix + "/")


class _Server(ThreadingHTTPServer):
    """Loopback-only threading server that knows its Sandbox."""

    daemon_threads = True
    allow_reuse_address = True
    sandbox: Sandbox


class _Handler(BaseHTTPRequestHandler):
    """One connection; every method goes through ``_dispatch``."""

    protocol_version = "HTTP/1.1"
    server_version = "taps-sandbox/1.0"
    sys_version = ""
    timeout = 60  # idle keep-alive connections do not hold a thread forever
    disable_nagle_algorithm = True  # headers and body go out at once: no 40 ms delayed-ACK stall
    server: _Server

    def version_string(self) -> str:
        """``Server`` header without the Python version."""
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet; the request log is the record."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self.server.sandbox._dispatch(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def send_api_response(self, response: ApiResponse) -> None:
        """Write status, headers and body with Content-Length (keep-alive stays usable)."""
        body = response.encoded()
        if self.command == "HEAD":
            body = b""
        self.send_response(response.status)
        headers = {k.lower(): v for k, v in response.headers.items()}
        if "content-type" not in headers:
            self.send_header("Content-Type", "application/json")
        for key, value in response.headers.items():
            if key.lower() not in ("content-length", "connection"):
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def drop_connection(self) -> None:
        """Close the socket without an answer, with a TCP reset (SO_LINGER 0)."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self) -> None:
        """Consume a request body so the next request on this connection parses cleanly."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > 0:
            self.rfile.read(length)


class Sandbox:
    """Both emulated APIs on one ephemeral (or chosen) port of 127.0.0.1.

    Use as a context manager or call ``start()`` / ``stop()``. Tests reach the API objects via
    ``sandbox.apis["segment"]`` / ``sandbox.apis["fivetran"]`` and the request log via
    ``sandbox.requests()``.
    """

    def __init__(
        self, options: SandboxOptions | None = None, port: int = 0, host: str = HOST
    ) -> None:
        if host != HOST:
            raise ValueError(f"the sandbox binds {HOST} only, not {host!r}")
        self.options = options or SandboxOptions()
        self.port = port
        self.apis: dict[str, ApiBase] = {name: _load_api(name, self.options) for name in API_NAMES}
        self.non_get_requests = 0
        self.in_flight = 0  # API requests being answered now, and the most at once
        self.max_in_flight = 0
        self._log: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {name: deque() for name in API_NAMES}
        self._endpoint_windows: dict[tuple[str, str, str], deque[float]] = {}
        self._fault_counter = 0
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        _refuse_unknown("fault", self.options.fault_kinds, FAULT_KINDS)
        _refuse_unknown("broken", [kind for _, kind in self.options.broken], BROKEN_KINDS)
        self._broken = [(re.compile(rx), kind) for rx, kind in self.options.broken]
        self._not_found = not_found_rules(self.options.not_found_for_every_parent)
        self.world = World(0)
        self.set_world_step(self.options.world_step)

    def set_world_step(self, step: int) -> World:
        """Move both APIs' world to ``step`` (taps_sandbox.world); 0 is the generated world."""
        world = World(step)
        self.world = world
        for api in self.apis.values():
            api.world = world if step else None
        return world

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> Sandbox:
        """Bind 127.0.0.1 and serve in a daemon thread. Raises OSError if the port is busy."""
        if self._server is not None:
            return self
        server = _Server((HOST, self.port), _Handler)
        server.sandbox = self
        self._server = server
        self.port = server.server_address[1]
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name=f"sandbox-{self.port}",
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Root URL, e.g. http://127.0.0.1:PORT."""
        return f"http://{HOST}:{self.port}"

    def api_url(self, name: str) -> str:
        """Base URL of the emulated API ``name`` (one of ``API_NAMES``)."""
        if name not in self.apis:
            raise KeyError(f"no API {name!r}; the sandbox serves {', '.join(self.apis)}")
        return f"{self.url}/{name}"

    @property
    def segment_url(self) -> str:
        """Base URL of the Segment emulator (shorthand for tests and the demo)."""
        return self.api_url("segment")

    @property
    def fivetran_url(self) -> str:
        """Base URL of the Fivetran emulator (shorthand for tests and the demo)."""
        return self.api_url("fivetran")

    # --- request log ---------------------------------------------------------------------------

    def requests(self, api: str | None = None) -> list[dict[str, Any]]:
        """A copy of the request log, optionally for one API."""
        with self._lock:
            return [
                dict(entry, query={k: list(v) for k, v in entry["query"].items()})
                for entry in self._log
                if api is None or entry["api"] == api
            ]

    def reset_log(self) -> None:
        """Forget logged requests (and the non-GET counter)."""
        with self._lock:
            self._log.clear()
            self.non_get_requests = 0

    # --- request pipeline ----------------------------------------------------------------------

    def _dispatch(self, handler: _Handler) -> None:
        """Run one request through log, method check, latency, rate limit, gating, faults, API."""
        split = urlsplit(handler.path)
        path = split.path
        query = parse_qs(split.query, keep_blank_values=True)
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            handler.read_body()
            handler.send_api_response(self._control(path))
            return
        api_name = path.split("/", 2)[1] if path.count("/") >= 1 else ""
        api = self.apis.get(api_name)
        rel_path = (path[len(api_name) + 1 :] or "/") if api else path
        entry: dict[str, Any] = {
            "method": handler.command,
            "api": api_name if api else None,
            "path": rel_path,
            "query": query,
            "status": None,
            "ts": time.time(),
        }
        with self._lock:
            self._log.append(entry)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            response = self._respond(handler, api, rel_path, query)
        finally:
            with self._lock:
                self.in_flight -= 1
        if response is None:  # fault that drops the connection
            return
        entry["status"] = response.status
        handler.send_api_response(response)

    def _respond(
        self, handler: _Handler, api: ApiBase | None, path: str, query: dict[str, list[str]]
    ) -> ApiResponse | None:
        """The response for one API request, or None when a fault drops the connection."""
        handler.read_body()
        if api is None:
            return ApiResponse(404, {"code": "NotFound", "message": "unknown API prefix"})
        if handler.command != "GET":
            with self._lock:
                self.non_get_requests += 1
            response = api.error(405, f"method {handler.command} is not allowed; read-only sandbox")
            response.headers["Allow"] = "GET"
            return response
        opts = self.options
        if opts.latency_ms > 0:
            time.sleep(opts.latency_ms / 1000)
        wait_ms = self._rate_limit_wait_ms(api.name)
        if wait_ms is not None:
            return api.rate_limited(wait_ms)
        for prefix, status in opts.gated:
            if _path_matches_prefix(path, prefix):
                return api.error(status, "feature not enabled for this account or workspace")
        credential = _credential(handler.headers.get("Authorization", ""))
        for who, prefix, status in opts.gated_for:
            if who == credential and _path_matches_prefix(path, prefix):
                return api.error(status, "feature not enabled for this account or workspace")
        for pattern, code in self._not_found:
            if pattern.fullmatch(path):
                return api.error(404, "Resource not found", code)
        wait_ms = self._endpoint_wait_ms(api, path, credential)
        if wait_ms is not None:
            return api.rate_limited(wait_ms)
        fault = self._next_fault()
        if fault is not None:
            return self._fault_response(handler, api, fault)
        headers = {k.lower(): v for k, v in handler.headers.items()}
        broken = [kind for rx, kind in self._broken if rx.search(path)]
        sent_cursor = None
        if "repeat_cursor" in broken:
            query, sent_cursor = _strip_repeat_cursor(query)
        try:
            response = api.handle(path, query, headers)
        except Exception:  # a sandbox bug must show up as a 500, not a dropped connection
            traceback.print_exc(file=sys.stderr)
            return api.error(500, "sandbox internal error (see the server's stderr)")
        for kind in broken:
            response = self._break(api, response, kind, sent_cursor)
        return response

    def _rate_limit_wait_ms(self, api_name: str) -> int | None:
        """Sliding one-second window per API; ms until a slot frees when over the limit."""
        limit = self.options.rate_limit_per_second
        if limit <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(api_name, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                return max(1, int((window[0] + 1.0 - now) * 1000) + 1)
            window.append(now)
        return None

    def _endpoint_wait_ms(self, api: ApiBase, path: str, credential: str) -> int | None:
        """Sliding one-minute window per endpoint and credential, at the documented limit."""
        limit = api.endpoints.match(path) if api.endpoints else None
        if not self.options.endpoint_rate_limits or limit is None or not limit.per_minute:
            return None
        now = time.monotonic()
        with self._lock:
            window = self._endpoint_windows.setdefault((api.name, limit.path, credential), deque())
            while window and window[0] <= now - 60.0:
                window.popleft()
            if len(window) >= limit.per_minute:
                return max(1, int((window[0] + 60.0 - now) * 1000) + 1)
            window.append(now)
        return None

    def _next_fault(self) -> str | None:
        """Deterministic fault choice from the seed and a per-request counter."""
        opts = self.options
        if opts.fault_rate <= 0 or not opts.fault_kinds:
            return None
        with self._lock:
            self._fault_counter += 1
            counter = self._fault_counter
        rng = random.Random(f"{opts.seed}:fault:{counter}")
        if rng.random() >= opts.fault_rate:
            return None
        return opts.fault_kinds[rng.randrange(len(opts.fault_kinds))]

    def _fault_response(self, handler: _Handler, api: ApiBase, fault: str) -> ApiResponse | None:
        """Answer (or not) the way a flaky network or overloaded API would."""
        if fault == "429":
            return api.rate_limited(0)
        if fault in ("500", "502", "503"):
            response = api.error(int(fault), "injected fault: the server had a problem")
            if self.options.echo_request_in_errors and isinstance(response.body, dict):
                # Deliberate leak test: a careless client would log this body, header and all.
                response.body = dict(response.body, request={"headers": dict(handler.headers)})
            return response
        if fault == "timeout":
            time.sleep(self.options.timeout_sleep_s)
        handler.drop_connection()
        return None

    def _break(
        self, api: ApiBase, response: ApiResponse, kind: str, sent_cursor: str | None
    ) -> ApiResponse:
        """Make a response break the API's promise in one named way."""
        if kind == "html_error":
            return ApiResponse(502, HTML_PROXY_PAGE, {"Content-Type": "text/html"})
        if kind == "error_envelope_200":
            return ApiResponse(200, api.error(500, "internal error").body)
        if response.status != 200:
            return response
        if kind == "invalid_json":
            body = response.encoded()
            return ApiResponse(200, body[: max(1, len(body) // 2)], dict(response.headers))
        body = response.body
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            return response
        if kind == "missing_list_key":
            data = api.without_list(data)
        elif kind == "repeat_cursor":
            data = api.with_next_cursor(data, sent_cursor or REPEAT_CURSOR)
        elif kind == "scalar_in_map":
            # A map of objects (Fivetran schema config's ``schemas``) whose first value is a
            # string, as an independent mock of the spec served it.
            key = next((k for k, v in data.items() if isinstance(v, dict) and v), None)
            if key is not None:
                inner = dict(data[key])
                inner[next(iter(inner))] = "not an object"
                data = dict(data, **{key: inner})
        return ApiResponse(response.status, dict(body, data=data), dict(response.headers))

    # --- control endpoints ---------------------------------------------------------------------

    def _control(self, path: str) -> ApiResponse:
        """/_sandbox/requests, /reset, /health, /world[/N] (no auth)."""
        action = path[len(CONTROL_PREFIX) :].strip("/")
        if action == "requests":
            return ApiResponse(200, self.requests())
        if action == "reset":
            self.reset_log()
            return ApiResponse(200, {"ok": True})
        if action == "world" or action.startswith("world/"):  # POST /_sandbox/world/N
            step = action.partition("/")[2]
            try:
                world = self.set_world_step(int(step)) if step else self.world
            except ValueError as exc:
                return ApiResponse(400, {"error": str(exc)})
            return ApiResponse(200, {"step": world.step, "changes": world.changes()})
        if action == "health":
            return ApiResponse(
                200,
                {
                    "status": "ok",
                    "apis": {name: type(api).__name__ for name, api in self.apis.items()},
                },
            )
        return ApiResponse(404, {"error": "unknown control endpoint"})


NOT_FOUND_CODE = re.compile(r"NotFound(_[A-Za-z]+)?")


def not_found_rules(rules: tuple[tuple[str, str], ...]) -> list[tuple[re.Pattern[str], str]]:
    """``not_found_for_every_parent`` as (compiled path, code), refusing what is not one.

    The path must start with ``/`` and have a ``*`` segment (the parent's id: a whole
    endpoint answering 404 is ``gated``); it matches that endpoint exactly, not what lies
    below it. The code is ``NotFound`` or ``NotFound_<Entity>``: a 404 that says something
    else is not what either API sends.
    """
    out = []
    for path, code in rules:
        segments = path.split("/")
        if (
            not path.startswith("/")
            or "*" not in segments
            or any("*" in seg and seg != "*" for seg in segments)
        ):
            raise ValueError(
                f"not_found_for_every_parent path {path!r} must start with '/' and have a "
                "'*' segment for the parent's id, e.g. /v1/connections/*/sync-history"
            )
        if not NOT_FOUND_CODE.fullmatch(code):
            raise ValueError(
                f"not_found_for_every_parent code {code!r} must be NotFound or "
                "NotFound_<Entity>, e.g. NotFound_Connector"
            )
        parts = [re.escape(seg) if seg != "*" else "[^/]+" for seg in path.rstrip("/").split("/")]
        out.append((re.compile("/".join(parts) + "/?"), code))
    return out


def _strip_repeat_cursor(query: dict[str, list[str]]) -> tuple[dict[str, list[str]], str | None]:
    """Drop the fake "repeat" cursor (so the API serves page one again); return the real one."""
    sent = None
    kept: dict[str, list[str]] = {}
    for key, values in query.items():
        if "cursor" in key.lower():
            if values and values[-1] != REPEAT_CURSOR:
                sent = values[-1]
                kept[key] = values
            elif values:
                sent = REPEAT_CURSOR
            continue
        kept[key] = values
    return kept, sent
