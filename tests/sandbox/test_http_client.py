"""The shared request loop against the sandbox over real HTTP: 429s with each API's hints, 5xx,
timeouts, dropped connections, and the bounds on retrying."""

from __future__ import annotations

import email.utils
import itertools
import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest
from requests.auth import HTTPBasicAuth

from tap_fivetran.api import retry_after_seconds
from tap_segment.api import segment_retry_wait
from taps_common.errors import ApiResponseError, RetriesExhaustedError
from taps_common.http_client import ApiHttpClient, RetryPolicy, RunStats
from taps_common.limiter import RateLimiter
from taps_sandbox.base import FIVETRAN_API_KEY, FIVETRAN_API_SECRET, SEGMENT_TOKEN, SENTINEL

LOG = logging.getLogger("test-http-client")


def fivetran_client(sb, **policy) -> ApiHttpClient:
    return ApiHttpClient(
        base_url=sb.fivetran_url,
        auth=HTTPBasicAuth(FIVETRAN_API_KEY, FIVETRAN_API_SECRET),
        user_agent="test/0",
        timeout=policy.pop("timeout", 5.0),
        policy=RetryPolicy(
            **{"backoff_base_seconds": 0.01, "wait_hint": retry_after_seconds, **policy}
        ),
        limiter=RateLimiter(),
        stats=RunStats(),
        logger=LOG,
        pool_size=4,
        secrets=(FIVETRAN_API_KEY, FIVETRAN_API_SECRET),
    )


def segment_client(sb, **policy) -> ApiHttpClient:
    def bearer(request):
        request.headers["Authorization"] = f"Bearer {SEGMENT_TOKEN}"
        return request

    return ApiHttpClient(
        base_url=sb.segment_url,
        auth=bearer,
        user_agent="test/0",
        timeout=5.0,
        policy=RetryPolicy(
            **{"backoff_base_seconds": 0.01, "wait_hint": segment_retry_wait, **policy}
        ),
        limiter=RateLimiter(),
        stats=RunStats(),
        logger=LOG,
        pool_size=4,
        secrets=(SEGMENT_TOKEN,),
    )


def retry_gaps(log: list[dict]) -> list[float]:
    """Seconds between each 429 the server sent and the next request it received."""
    return [
        later["ts"] - entry["ts"]
        for entry, later in itertools.pairwise(log)
        if entry["status"] == 429
    ]


def logged_waits(messages: list[str]) -> list[float]:
    """The waits the client announced for its 429 retries ("... in 0.4 s")."""
    return [float(m.rsplit(" in ", 1)[1].split()[0]) for m in messages if "HTTP 429" in m]


def test_the_environments_proxy_still_applies(make_sandbox, monkeypatch):
    """The client reads the proxy settings once when it starts, not per request: a URL on
    another host still goes through HTTP_PROXY (the sandbox answers as that proxy), and with
    NO_PROXY naming the host it does not. The other host is a closed loopback port, so a
    request that missed the proxy is refused here and goes nowhere else."""
    sb = make_sandbox()
    proxy = f"http://127.0.0.1:{sb.port}"
    for key in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(key, proxy)
    for key in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(key, "")
    elsewhere = ApiHttpClient(
        base_url="http://127.0.0.2:1/fivetran",
        auth=HTTPBasicAuth(FIVETRAN_API_KEY, FIVETRAN_API_SECRET),
        user_agent="test/0",
        timeout=5.0,
        policy=RetryPolicy(max_retries=0),
        limiter=RateLimiter(),
        stats=RunStats(),
        logger=LOG,
        pool_size=4,
    )
    monkeypatch.delenv("HTTP_PROXY")  # read at the start: a later change does not apply
    monkeypatch.delenv("http_proxy")
    for _ in range(3):
        body, _ = elsewhere.get_json("/v1/groups", {"limit": 1}, stream="groups")
        assert body["data"]["items"]
    assert len(sb.requests("fivetran")) == 3
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    direct = fivetran_client(sb)
    assert direct.session.proxies.get("http") is None
    direct.get_json("/v1/groups", {"limit": 1}, stream="groups")
    assert len(sb.requests("fivetran")) == 4


def test_fivetran_429_waits_retry_after_then_succeeds(make_sandbox, caplog):
    """Retry-After is whole seconds (1 or 2 here); the backoff of this client is 10 ms, so a
    retry a second after the 429 can only come from the header."""
    sb = make_sandbox(rate_limit_per_second=2)
    client = fivetran_client(sb)
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        for _ in range(4):
            body, _ = client.get_json("/v1/groups", {"limit": 1}, stream="groups")
            assert body["data"]["items"]
    log = sb.requests("fivetran")
    statuses = [r["status"] for r in log]
    assert 429 in statuses and statuses[-1] == 200
    assert client.stats.retries["groups"] == statuses.count(429)
    gaps = retry_gaps(log)
    assert gaps and all(gap >= 0.95 for gap in gaps), gaps  # Retry-After: 1 (or 2)
    assert all(wait >= 1.0 for wait in logged_waits(caplog.messages)), caplog.messages
    assert "Retrying GET /v1/groups after HTTP 429" in caplog.text
    assert SENTINEL not in caplog.text


def test_segment_429_uses_ms_before_next(make_sandbox, caplog):
    """The sandbox's 429 says msBeforeNext (under a second); this client's backoff would wait
    4-8 s, so each retry that comes within the hint's time (and not before it) used the hint."""
    sb = make_sandbox(rate_limit_per_second=3)
    client = segment_client(sb, backoff_base_seconds=8.0)
    with caplog.at_level(logging.WARNING, logger=LOG.name):
        for _ in range(6):
            client.get_json("/users", {"pagination.count": 1}, stream="users")
    log = sb.requests("segment")
    assert 429 in [r["status"] for r in log]
    waits = logged_waits(caplog.messages)
    gaps = retry_gaps(log)
    assert waits and len(waits) == len(gaps), (waits, gaps)
    # Sub-second hints, not a backoff (a hint of a few ms is logged as 0.0 s).
    assert all(0 <= wait <= 1.0 for wait in waits), waits
    for wait, gap in zip(waits, gaps, strict=True):
        assert wait - 0.06 <= gap < 2.0, (wait, gap)
    assert SENTINEL not in caplog.text


class _Scripted(BaseHTTPRequestHandler):
    """Answers each GET with the next scripted (status, body, headers), then 200 {}; logs
    when each request arrived."""

    script: ClassVar[list[tuple[int, dict, dict[str, str]]]] = []
    arrivals: ClassVar[list[float]] = []

    def do_GET(self) -> None:
        type(self).arrivals.append(time.monotonic())
        status, body, headers = self.script.pop(0) if self.script else (200, {"data": {}}, {})
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _scripted_gap(script: list[tuple[int, dict, dict[str, str]]], backoff: float) -> float:
    """Seconds between a scripted 429 and the Segment client's retry."""
    _Scripted.script = list(script)
    _Scripted.arrivals = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Scripted)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ApiHttpClient(
            base_url=f"http://127.0.0.1:{server.server_port}",
            auth=None,
            user_agent="test/0",
            timeout=5.0,
            policy=RetryPolicy(
                backoff_base_seconds=backoff, max_retries=1, wait_hint=segment_retry_wait
            ),
            limiter=RateLimiter(),
            stats=RunStats(),
            logger=LOG,
            pool_size=1,
            secrets=(),
        )
        client.get_json("/users", {}, stream="users")
    finally:
        server.shutdown()
        server.server_close()
    first, second = _Scripted.arrivals
    return second - first


def _rate_limited(ms: int | None, reset_in: float | None) -> tuple[int, dict, dict[str, str]]:
    body = {"errors": [{"type": "RequestError", "message": "Too many requests"}]}
    if ms is not None:
        body["errors"][0]["data"] = {"remainingPoints": 0, "msBeforeNext": ms}
    headers = {}
    if reset_in is not None:
        headers["X-RateLimit-Reset"] = email.utils.formatdate(time.time() + reset_in, usegmt=True)
    return 429, body, headers


def test_segment_body_hint_beats_the_reset_header():
    """msBeforeNext 700 ms with X-RateLimit-Reset 5 s away and a 10-20 s backoff: the retry
    comes after about 0.7 s, so the body's hint is the one used."""
    gap = _scripted_gap([_rate_limited(700, 5.0)], backoff=20.0)
    assert 0.65 <= gap < 1.6, gap


def test_segment_reset_header_when_the_body_has_no_hint():
    """Only X-RateLimit-Reset (an HTTP date, whole seconds) 3 s away: the retry waits for it,
    not for the 10-20 s backoff and not at once."""
    gap = _scripted_gap([_rate_limited(None, 3.0)], backoff=20.0)
    assert 1.9 <= gap < 3.6, gap


def test_5xx_is_retried_then_gives_up_with_path_and_status(make_sandbox):
    sb = make_sandbox(fault_rate=1.0, fault_kinds=("503",))
    client = fivetran_client(sb, max_retries=2)
    with pytest.raises(RetriesExhaustedError) as info:
        client.get_json("/v1/users", {"limit": 5}, stream="users")
    assert "/v1/users" in str(info.value) and "503" in str(info.value)
    assert len(sb.requests("fivetran")) == 3
    assert SENTINEL not in str(info.value) + repr(info.value)


def test_timeouts_and_resets_are_retried(make_sandbox):
    sb = make_sandbox(fault_rate=0.5, fault_kinds=("timeout", "reset"), timeout_sleep_s=1.0, seed=7)
    client = fivetran_client(sb, max_retries=10, timeout=0.3)
    for _ in range(4):
        body, _ = client.get_json("/v1/teams", {"limit": 10}, stream="teams")
        assert body["data"]["items"]
    assert client.stats.retries["teams"] >= 1


def test_timeout_exhaustion_names_the_problem(make_sandbox):
    sb = make_sandbox(fault_rate=1.0, fault_kinds=("timeout",), timeout_sleep_s=1.0)
    client = fivetran_client(sb, max_retries=1, timeout=0.2)
    with pytest.raises(RetriesExhaustedError) as info:
        client.get_json("/v1/roles", {}, stream="roles")
    assert "Timeout" in str(info.value) and "/v1/roles" in str(info.value)


def test_retry_after_beyond_the_bound_fails_fast_and_says_why(make_sandbox):
    sb = make_sandbox(rate_limit_per_second=1)
    client = fivetran_client(sb, max_wait_seconds=0.5)
    client.get_json("/v1/groups", {}, stream="groups")
    with pytest.raises(RetriesExhaustedError) as info:
        for _ in range(3):
            client.get_json("/v1/groups", {}, stream="groups")
    assert "asks to wait" in str(info.value)
    assert "max_retry_wait_seconds" in str(info.value)


def test_non_retriable_status_is_not_retried(make_sandbox):
    sb = make_sandbox(gated=(("/v1/webhooks", 403),))
    client = fivetran_client(sb)
    from taps_common.http_client import HttpStatusError

    with pytest.raises(HttpStatusError) as info:
        client.get_json("/v1/webhooks", {}, stream="webhooks")
    assert info.value.status == 403
    assert len(sb.requests("fivetran")) == 1


class _FixedBody(BaseHTTPRequestHandler):
    """Answers every GET with the body named by the path (a loopback stand-in API)."""

    BODIES: ClassVar[dict[str, bytes]] = {
        "/big": b'{"data": {"huge": 1e400, "long": 123456789012345678901234567890}}',
        "/text": b"<html>maintenance</html>",
        "/utf8": '{"data": {"name": "Zo\u00eb \u2713"}}'.encode(),
    }

    def do_GET(self) -> None:
        body = self.BODIES[self.path.split("?")[0]]
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_bodies_decode_like_json_does():
    """msgspec decodes pages; JSON it cannot hold (a number past 1e308) still decodes, and a
    body that is not JSON is a clear error."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FixedBody)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = ApiHttpClient(
            base_url=f"http://127.0.0.1:{server.server_port}",
            auth=None,
            user_agent="test/0",
            timeout=5.0,
            policy=RetryPolicy(
                backoff_base_seconds=0.01, max_retries=0, wait_hint=retry_after_seconds
            ),
            limiter=RateLimiter(),
            stats=RunStats(),
            logger=LOG,
            pool_size=1,
            secrets=(),
        )
        body, _ = client.get_json("/big", {}, stream="big")
        assert body["data"]["huge"] == float("inf")
        assert body["data"]["long"] == 123456789012345678901234567890
        body, _ = client.get_json("/utf8", {}, stream="utf8")
        assert body["data"]["name"] == "Zo\u00eb \u2713"
        with pytest.raises(ApiResponseError, match="not JSON") as err:
            client.get_json("/text", {}, stream="text")
        assert err.value.path == "/text"
    finally:
        server.shutdown()
        server.server_close()
