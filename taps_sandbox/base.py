"""The contract between the sandbox HTTP server and each emulated API.

The server (``taps_sandbox.server``) owns sockets, latency, the rate limit, fault injection, gating
and the request log. Each API (the ``segment`` and ``fivetran`` packages) only turns one
authenticated GET into a response, in that API's own envelope and error style, and says how its
list bodies are shaped (for the broken responses the server makes of them). The server finds an
API as the class named ``API`` in the module ``taps_sandbox.<name>_api``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from taps_common.endpoint_limits import EndpointTable

# Every secret-bearing value the sandbox serves, and every credential it accepts, contains this
# marker, so a test can scan any output for it.
SENTINEL = "SENTINEL-SECRET"

SEGMENT_TOKEN = f"{SENTINEL}-segment-token-ws1"
SEGMENT_TOKEN_2 = f"{SENTINEL}-segment-token-ws2"
FIVETRAN_API_KEY = f"{SENTINEL}-fivetran-key"
FIVETRAN_API_SECRET = f"{SENTINEL}-fivetran-secret"

# What ``SandboxOptions.fault_kinds`` may name: a status answered in the API's own style, a
# dropped connection ("reset"), or a stall before the drop ("timeout"). The server refuses any
# other kind when it is created.
FAULT_KINDS = ("429", "500", "502", "503", "reset", "timeout")


@dataclass(frozen=True)
class SandboxOptions:
    """Knobs shared by both APIs. Defaults give a small, clean, fast server."""

    size: str = "small"  # "small" (tests), "medium", "large" (benchmarks)
    counts: dict[str, int] = field(default_factory=dict)  # per-collection overrides of `size`
    seed: int = 1
    latency_ms: float = 0.0  # added to every request
    rate_limit_per_second: float = 0.0  # 0 = off; above it each API answers 429 its own way
    fault_rate: float = 0.0  # share of requests answered with a fault from `fault_kinds`
    fault_kinds: tuple[str, ...] = FAULT_KINDS
    timeout_sleep_s: float = 3.0  # how long a "timeout" fault stalls before closing
    deleted_children: int = 0  # objects listed but answering 404 on detail / child endpoints
    # (path prefix relative to the API root, HTTP status): endpoints whose feature is off,
    # e.g. ("/functions", 403) for Segment or ("/v1/system-keys", 403) for Fivetran.
    gated: tuple[tuple[str, int], ...] = ()
    # (credential, path prefix, status): gating for one workspace or account only, e.g.
    # (SEGMENT_TOKEN, "/audit-events", 403); the credential is the token or the API key.
    gated_for: tuple[tuple[str, str, int], ...] = ()
    # (per-parent path with a ``*`` segment for the parent's id, error code): every parent
    # answers 404 there, with that code in the API's envelope (Fivetran ``code``, Segment
    # ``type``): "NotFound" as for an endpoint the API does not have, or an object's code
    # ("NotFound_Connector") as if every parent were gone, e.g.
    # ("/v1/connections/*/sync-history", "NotFound_Connector") or ("/sources/*/settings",
    # "NotFound"). Checked when the server starts (Sandbox: not_found_rules).
    not_found_for_every_parent: tuple[tuple[str, str], ...] = ()
    # Answer 429 (in the API's style) above each endpoint's documented rate limit, per
    # credential, in a sliding minute: the endpoint-limits table's per_minute column.
    endpoint_rate_limits: bool = True
    # The moment generated times are relative to (default: when the sandbox starts); two
    # sandboxes with the same anchor serve the same audit trail, to compare runs.
    clock_anchor: float | None = None
    # (path regex relative to the API root, kind): responses that break the API's promise.
    # kinds: invalid_json, missing_list_key, repeat_cursor, html_error, error_envelope_200,
    # scalar_in_map
    broken: tuple[tuple[str, str], ...] = ()
    world_step: int = 0  # taps_sandbox.world: 0 = the generated world, N = after N changes
    echo_request_in_errors: bool = False  # 5xx bodies echo request headers (leak test)
    # Fivetran services the connections and destinations cycle through (empty: the usual
    # mix), e.g. services whose configs hold every field the spec marks a password.
    fivetran_connection_services: tuple[str, ...] = ()
    fivetran_destination_services: tuple[str, ...] = ()


@dataclass
class ApiResponse:
    """One response: status, headers and a body (JSON-encoded when ``body`` is not bytes)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> bytes:
        """Return the body as bytes (JSON unless already bytes)."""
        if isinstance(self.body, bytes):
            return self.body
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()


class ApiBase:
    """One emulated API. Subclasses implement ``handle`` and the API-specific error shapes."""

    name: str = ""  # "segment" or "fivetran": also the URL prefix, /segment or /fivetran
    endpoints: EndpointTable | None = None  # the documented limits this API enforces

    def __init__(self, options: SandboxOptions) -> None:
        self.options = options
        self.world: Any = None  # a taps_sandbox.world.World once the world has moved on

    def handle(
        self, path: str, query: dict[str, list[str]], headers: dict[str, str]
    ) -> ApiResponse:
        """Answer one GET. ``path`` is relative to the API root (``/sources``, ``/v1/groups``).

        ``headers`` keys are lower-case. Checks auth itself (401 in the API's style).
        """
        raise NotImplementedError

    def error(self, status: int, message: str, code: str | None = None) -> ApiResponse:
        """An error response in this API's envelope."""
        raise NotImplementedError

    def rate_limited(self, wait_ms: int) -> ApiResponse:
        """A 429 in this API's style, telling the client to wait ``wait_ms``."""
        raise NotImplementedError

    def without_list(self, data: dict[str, Any]) -> dict[str, Any]:
        """A list response's ``data`` with its list left out (broken kind ``missing_list_key``)."""
        raise NotImplementedError

    def with_next_cursor(self, data: dict[str, Any], cursor: str) -> dict[str, Any]:
        """A list response's ``data`` saying ``cursor`` is the next page's (``repeat_cursor``)."""
        raise NotImplementedError

    def list_key_paths(self) -> tuple[str, ...]:
        """Not used by the server; documented hook for tests."""
        return ()
