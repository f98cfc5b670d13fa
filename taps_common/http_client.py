"""The one request loop both taps use: auth, limiter, timeouts, retries with backoff, JSON parse.

Thread-safe: the fan-out pool shares one client (and so one connection pool and one limiter).
Logs and errors carry the URL path and status only, never headers, query secrets or bodies.
"""

from __future__ import annotations

import json
import logging
import random
import socket
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import msgspec
import requests
from requests.adapters import HTTPAdapter

from taps_common.errors import ApiResponseError, HostUnreachableError, RetriesExhaustedError
from taps_common.limiter import RateLimiter
from taps_common.run_stats import RunStats

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)


@dataclass
class HttpStatusError(Exception):
    """A non-retriable, non-2xx answer; the API layer decides what it means."""

    path: str
    status: int
    body: Any  # parsed JSON, or None when the body was not JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path} answered HTTP {self.status}"


@dataclass
class RetryPolicy:
    """Bounds on retrying: tries, total wait per request, and the backoff curve."""

    max_retries: int = 8
    max_wait_seconds: float = 600.0  # total sleeping for one request, and the longest single wait
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0


class ApiHttpClient:
    """HTTP GET with auth, rate limiting and bounded retries for one API connection."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Callable[[requests.PreparedRequest], requests.PreparedRequest],
        user_agent: str,
        timeout: float,
        policy: RetryPolicy,
        limiter: RateLimiter,
        stats: RunStats,
        logger: logging.Logger,
        pool_size: int,
        retry_wait_hint: Callable[[requests.Response], float | None],
        secrets: tuple[str, ...] = (),
        url_settings: str = "'api_url'",
        request_slot: Callable[[], AbstractContextManager[Any]] = nullcontext,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.policy = policy
        self.limiter = limiter
        self.stats = stats
        self.logger = logger
        self.retry_wait_hint = retry_wait_hint
        self._secrets = tuple(s for s in secrets if s)
        self.url_settings = url_settings  # what to fix when the host cannot be reached
        self.request_slot = request_slot  # the run's cap on requests in flight
        self.tenant = ""  # the workspace or account this client reads, once known
        self._answered = False  # the host has answered at least once
        self.session = requests.Session()
        self.session.auth = auth
        self.session.headers["User-Agent"] = user_agent
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(4, pool_size + 2), max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def scrub(self, text: str) -> str:
        """Remove any configured credential from a text before it is logged or raised."""
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def get_json(
        self,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        accept: str = "application/json",
        stream: str = "",
        limiter_key: str | None = None,
    ) -> tuple[Any, requests.Response]:
        """GET ``path`` and return (parsed JSON, response); retry what is retriable.

        Raises HttpStatusError for other non-2xx answers, ApiResponseError for a body that is
        not JSON, RetriesExhaustedError when the bounds are reached.
        """
        url = f"{self.base_url}{path}"
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(limiter_key)
            self.stats.count_request(stream or path, self.tenant)
            problem: str
            wait: float | None = None
            try:
                with self.request_slot():
                    response = self.session.get(
                        url,
                        params=params,
                        headers={"Accept": accept},
                        timeout=self.timeout,
                        allow_redirects=False,
                    )
            except TRANSPORT_ERRORS as exc:
                problem = f"{type(exc).__name__}"
                if not self._answered and (why := _unreachable(exc)):
                    # A host that never answered and cannot be resolved or refuses connections
                    # will not answer on the next try either: say so at once.
                    raise HostUnreachableError(
                        f"Cannot reach {urlsplit(url).hostname}: {why}. Check "
                        f"setting {self.url_settings} and this machine's network"
                    ) from None
            else:
                self._answered = True
                if response.status_code < 300:
                    return self._parse(response, path), response
                if response.status_code not in RETRIABLE_STATUSES:
                    raise HttpStatusError(
                        path, response.status_code, _json_or_none(response), response.headers
                    )
                problem = f"HTTP {response.status_code}"
                wait = self.retry_wait_hint(response)
                if response.status_code == 429 and wait is not None:
                    self._check_wait_bound(path, wait)
                    self.limiter.pause(wait)
            if attempt > self.policy.max_retries:
                raise RetriesExhaustedError(
                    f"Gave up after {attempt} tries ({problem}); the API kept failing. "
                    "Raise max_retries or try again later",
                    path=path,
                    status=_status_of(problem),
                )
            if wait is None:
                wait = min(
                    self.policy.backoff_cap_seconds,
                    self.policy.backoff_base_seconds * (2 ** (attempt - 1)),
                )
                wait *= 0.5 + random.random() / 2  # jitter spreads parallel workers out
            if waited + wait > self.policy.max_wait_seconds:
                raise RetriesExhaustedError(
                    f"Gave up: retrying would wait {waited + wait:.0f} s in total, more than "
                    f"max_retry_wait_seconds ({self.policy.max_wait_seconds:.0f} s) ({problem})",
                    path=path,
                    status=_status_of(problem),
                )
            self.stats.add("retries", stream or path)
            self.logger.warning(
                "Retrying GET %s after %s (attempt %d of %d) in %.1f s",
                path,
                problem,
                attempt + 1,
                self.policy.max_retries + 1,
                wait,
            )
            time.sleep(wait)
            waited += wait

    def _check_wait_bound(self, path: str, wait: float) -> None:
        if wait > self.policy.max_wait_seconds:
            raise RetriesExhaustedError(
                f"The API is rate limiting this account and asks to wait {wait:.0f} s, more than "
                f"max_retry_wait_seconds ({self.policy.max_wait_seconds:.0f} s). Raise that "
                "setting or run later",
                path=path,
                status=429,
            )
        if wait >= 30:
            self.logger.warning("Rate limited on %s: waiting %.0f s as the API asks", path, wait)

    def _parse(self, response: requests.Response, path: str) -> Any:
        try:
            return _decode(response)
        except ValueError:
            kind = response.headers.get("Content-Type", "unknown content type").split(";")[0]
            raise ApiResponseError(
                f"The API answered with a body that is not JSON ({kind})",
                path=path,
                status=response.status_code,
            ) from None


def _decode(response: requests.Response) -> Any:
    """The body as JSON; msgspec decodes large pages several times faster than the stdlib."""
    try:
        return msgspec.json.decode(response.content)
    except msgspec.ValidationError:  # valid JSON msgspec will not hold (a number past 1e308)
        return json.loads(response.content)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return _decode(response)
    except ValueError:
        return None


def _status_of(problem: str) -> int | None:
    return int(problem.split()[1]) if problem.startswith("HTTP ") else None


def _unreachable(exc: BaseException) -> str | None:
    """Why a connection error means the host is not there (name unknown, nothing listening)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "the host name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "the connection was refused"
        text = str(current)
        if "Name or service not known" in text or "nodename nor servname" in text:
            return "the host name does not resolve"
        if "Connection refused" in text:
            return "the connection was refused"
        nested = current.args[0] if current.args else None
        current = (
            nested
            if isinstance(nested, BaseException)
            else current.__cause__ or current.__context__
        )
    return None
