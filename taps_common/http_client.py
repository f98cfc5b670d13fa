"""The one request loop both taps use: auth, limiter, timeouts, retries, JSON parse.

What is retried and how long to wait is a value, ``RetryPolicy``: small predicates over one
attempt's typed outcome (an ``Answer`` with its status, or the transport error raised), with
each API's own reading of its wait hints plugged in. The loop only applies it.

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
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import MaxRetryError, NameResolutionError

from taps_common.errors import ApiResponseError, HostUnreachableError, RetriesExhaustedError
from taps_common.limiter import RateLimiter
from taps_common.run_stats import RunStats

RETRIABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
RATE_LIMITED = 429
TRANSPORT_ERRORS = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
    ConnectionResetError,
)


@dataclass(frozen=True)
class Answer:
    """A non-2xx answer as the retry policy reads it: status, headers (looked up without
    regard to case, as HTTP names them) and the body as JSON (None when it is not JSON)."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "headers", CaseInsensitiveDict(self.headers))


# One attempt's outcome when it was not a 2xx: the server's answer, or the transport error
# (one of TRANSPORT_ERRORS) that kept it from answering.
Outcome = Answer | OSError


def no_wait_hint(answer: Answer) -> float | None:
    """For an API that says nothing about how long to wait."""
    return None


@dataclass
class HttpStatusError(Exception):
    """A non-retriable, non-2xx answer; the API layer decides what it means."""

    path: str
    status: int
    body: Any  # parsed JSON, or None when the body was not JSON
    headers: Mapping[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.path} answered HTTP {self.status}"


@dataclass(frozen=True)
class RetryPolicy:
    """When to retry a request and how long to wait, as a value (in the manner of urllib3's
    ``Retry``): small predicates over one attempt's ``Outcome``, which the client applies.

    ``wait_hint`` is the API's own rule for reading how long it asks to wait (a header or the
    body); where it says nothing, the wait is an exponential backoff with jitter.
    """

    max_retries: int = 8
    max_wait_seconds: float = 600.0  # total sleeping for one request, and the longest single wait
    backoff_base_seconds: float = 1.0
    backoff_cap_seconds: float = 60.0
    retriable_statuses: frozenset[int] = RETRIABLE_STATUSES
    wait_hint: Callable[[Answer], float | None] = no_wait_hint

    def is_retriable(self, outcome: Outcome) -> bool:
        """A status the API may answer differently next time, or a dropped, timed-out or
        refused connection."""
        if isinstance(outcome, Answer):
            return outcome.status in self.retriable_statuses
        return isinstance(outcome, TRANSPORT_ERRORS)

    def is_rate_limited(self, outcome: Outcome) -> bool:
        """The API said "too many requests": its wait applies to every worker."""
        return isinstance(outcome, Answer) and outcome.status == RATE_LIMITED

    def hinted_wait(self, outcome: Outcome) -> float | None:
        """Seconds the API asked to wait (``wait_hint``), or None."""
        return self.wait_hint(outcome) if isinstance(outcome, Answer) else None

    def backoff(self, attempt: int, jitter: float) -> float:
        """The wait after failed ``attempt`` (1 = the first) when the API named none: doubling
        from the base, capped, then scaled into [50%, 100%] by ``jitter`` in [0, 1), which
        spreads parallel workers out."""
        wait = min(self.backoff_cap_seconds, self.backoff_base_seconds * 2.0 ** (attempt - 1))
        return wait * (0.5 + jitter / 2)

    def is_exhausted(self, attempt: int) -> bool:
        """``attempt`` tries made: no retry is left."""
        return attempt > self.max_retries

    def exceeds_budget(self, waited: float, wait: float) -> bool:
        """Waiting ``wait`` more after ``waited`` would pass the total allowed per request."""
        return waited + wait > self.max_wait_seconds


def describe(outcome: Outcome) -> str:
    """How log lines and errors name an outcome: ``HTTP 503`` or the error's type."""
    if isinstance(outcome, Answer):
        return f"HTTP {outcome.status}"
    return type(outcome).__name__


def status_of(outcome: Outcome) -> int | None:
    """The HTTP status of an outcome; None when the server did not answer."""
    return outcome.status if isinstance(outcome, Answer) else None


def unreachable(exc: BaseException) -> str | None:
    """Why a transport error means the host is not there (its name does not resolve, or
    nothing listens), or None. Read from the error's types along the chain requests and
    urllib3 build (ConnectionError -> MaxRetryError -> NewConnectionError -> the socket's
    error), never from its text."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror | NameResolutionError):
            return "the host name does not resolve"
        if isinstance(current, ConnectionRefusedError):
            return "the connection was refused"
        current = _cause(current)
    return None


def _cause(exc: BaseException) -> BaseException | None:
    """The error ``exc`` wraps: requests passes it as the first argument, urllib3's
    MaxRetryError as ``reason``, others chain it (``raise ... from``)."""
    if exc.args and isinstance(exc.args[0], BaseException):
        return exc.args[0]
    if isinstance(exc, MaxRetryError) and exc.reason is not None:
        return exc.reason
    return exc.__cause__ or exc.__context__


class ApiHttpClient:
    """HTTP GET with auth, rate limiting and bounded retries for one API connection."""

    def __init__(
        self,
        *,
        base_url: str,
        auth: Callable[[requests.PreparedRequest], requests.PreparedRequest] | None,
        user_agent: str,
        timeout: float,
        policy: RetryPolicy,
        limiter: RateLimiter,
        stats: RunStats,
        logger: logging.Logger,
        pool_size: int,
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
        self._read_environment_once()

    def _read_environment_once(self) -> None:
        """Take the environment's proxy and CA bundle settings (HTTPS_PROXY, NO_PROXY,
        REQUESTS_CA_BUNDLE, ...) for this client's one host now. requests otherwise reads them
        again for every request, scanning the whole environment each time (Meltano passes a
        large one): a tenth of a tap's CPU. The session has its own auth, so no .netrc."""
        settings = self.session.merge_environment_settings(self.base_url, {}, None, None, None)
        self.session.trust_env = False
        self.session.proxies.update(settings["proxies"])
        self.session.verify = settings["verify"]

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
        """GET ``path`` and return (parsed JSON, response); retry what the policy retries.

        Raises HttpStatusError for other non-2xx answers, ApiResponseError for a body that is
        not JSON, HostUnreachableError when the host never answered and cannot be reached,
        RetriesExhaustedError when the policy's bounds are reached.
        """
        url = f"{self.base_url}{path}"
        waited = 0.0
        attempt = 0
        while True:
            attempt += 1
            self.limiter.acquire(limiter_key)
            self.stats.count_request(stream or path, self.tenant)
            outcome = self._send(url, params, accept)
            if isinstance(outcome, requests.Response):
                return self._parse(outcome, path), outcome
            wait = self._wait_before_retry(url, path, outcome, attempt, waited)
            self.stats.count_retry(stream or path)
            self.logger.warning(
                "Retrying GET %s after %s (attempt %d of %d) in %.1f s",
                path,
                describe(outcome),
                attempt + 1,
                self.policy.max_retries + 1,
                wait,
            )
            time.sleep(wait)
            waited += wait

    def _send(
        self, url: str, params: Mapping[str, Any] | None, accept: str
    ) -> requests.Response | Outcome:
        """One attempt: the response when it is a 2xx, else its outcome for the policy."""
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
            return exc
        self._answered = True
        if response.status_code < 300:
            return response
        return Answer(response.status_code, response.headers, _json_or_none(response))

    def _wait_before_retry(
        self, url: str, path: str, outcome: Outcome, attempt: int, waited: float
    ) -> float:
        """How long to wait before retrying after ``outcome``; raises what ends the request
        instead (see ``get_json``)."""
        policy = self.policy
        if isinstance(outcome, Answer) and not policy.is_retriable(outcome):
            raise HttpStatusError(path, outcome.status, outcome.body, outcome.headers)
        if isinstance(outcome, OSError) and not self._answered and (why := unreachable(outcome)):
            # A host that never answered and cannot be resolved or refuses connections will
            # not answer on the next try either: say so at once.
            raise HostUnreachableError(
                f"Cannot reach {urlsplit(url).hostname}: {why}. Check "
                f"setting {self.url_settings} and this machine's network"
            )
        wait = policy.hinted_wait(outcome)
        if wait is not None and policy.is_rate_limited(outcome):
            self._check_wait_bound(path, wait)
            self.limiter.pause(wait)  # every worker waits, not only this one
        problem, status = describe(outcome), status_of(outcome)
        if policy.is_exhausted(attempt):
            raise RetriesExhaustedError(
                f"Gave up after {attempt} tries ({problem}); the API kept failing. "
                "Raise max_retries or try again later",
                path=path,
                status=status,
            )
        if wait is None:
            wait = policy.backoff(attempt, random.random())
        if policy.exceeds_budget(waited, wait):
            raise RetriesExhaustedError(
                f"Gave up: retrying would wait {waited + wait:.0f} s in total, more than "
                f"max_retry_wait_seconds ({policy.max_wait_seconds:.0f} s) ({problem})",
                path=path,
                status=status,
            )
        return wait

    def _check_wait_bound(self, path: str, wait: float) -> None:
        if wait > self.policy.max_wait_seconds:
            raise RetriesExhaustedError(
                f"The API is rate limiting this account and asks to wait {wait:.0f} s, more than "
                f"max_retry_wait_seconds ({self.policy.max_wait_seconds:.0f} s). Raise that "
                "setting or run later",
                path=path,
                status=RATE_LIMITED,
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
