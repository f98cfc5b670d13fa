"""Client-side rate limiting shared by every thread that talks to one API.

Token buckets keep the request rate under the API's documented limits (global and per endpoint);
a 429 pauses the whole API, not just the thread that saw it, so parallel workers do not keep
hammering a server that already said stop.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from taps_common.endpoint_limits import EndpointTable

# Sent times are kept this much further apart than the API's window, so latency jitter between
# the tap's clock and the server's can never fit one request too many into a server window.
WINDOW_MARGIN_SECONDS = 1.0


class TokenBucket:
    """``rate`` tokens per second, holding at most ``capacity`` (the allowed burst)."""

    def __init__(self, rate: float, capacity: float) -> None:
        self.rate = float(rate)  # the SDK reads JSON config numbers as Decimal
        self.capacity = max(1.0, float(capacity))
        self._tokens = self.capacity
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take one token; return how long the caller must sleep before using it."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.rate


class SlidingWindow:
    """At most ``limit`` requests in any ``seconds`` (how the APIs count): a burst goes out at
    once, then each request waits for the one ``limit`` places before it to leave the window."""

    def __init__(self, limit: float, seconds: float) -> None:
        self.limit = max(1, int(limit))
        self.seconds = float(seconds) + WINDOW_MARGIN_SECONDS
        self._sent: deque[float] = deque()  # send times, reserved ones possibly in the future
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Take the next free slot; return how long the caller must sleep before using it."""
        with self._lock:
            now = time.monotonic()
            while self._sent and self._sent[0] <= now - self.seconds:
                self._sent.popleft()
            at = now
            if len(self._sent) >= self.limit:
                at = max(now, self._sent[-self.limit] + self.seconds)
            self._sent.append(at)
            return at - now


class RateLimiter:
    """One per API per run: an optional global bucket, per-endpoint buckets and a 429 pause."""

    def __init__(self, requests_per_second: float | None = None) -> None:
        # A small burst (a tenth of a second's worth) keeps any one-second window under
        # 1.1 x the rate, so a cap set 10% under the API's limit avoids 429s altogether.
        rate = float(requests_per_second or 0)  # the SDK reads JSON numbers as Decimal
        self._global = TokenBucket(rate, max(1.0, rate / 10)) if rate else None
        self._endpoint: dict[str, SlidingWindow] = {}
        self._account: SlidingWindow | None = None
        self._paused_until = 0.0
        self._lock = threading.Lock()
        self.waited_seconds = 0.0

    @classmethod
    def for_api(cls, table: EndpointTable, requests_per_second: float | None) -> RateLimiter:
        """A limiter holding every limit the API documents, plus the user's optional cap."""
        limiter = cls(requests_per_second)
        for endpoint in table:
            if endpoint.per_minute:
                limiter.endpoint_limit(endpoint.path, endpoint.per_minute)
        if table.account_limit:
            limiter._account = SlidingWindow(
                table.account_limit.requests, table.account_limit.seconds
            )
        return limiter

    def endpoint_limit(self, key: str, per_minute: float) -> None:
        """Declare an endpoint's own limit: at most ``per_minute`` in any minute."""
        with self._lock:
            if key not in self._endpoint:
                self._endpoint[key] = SlidingWindow(per_minute, 60.0)

    def pause(self, seconds: float) -> None:
        """The API said to wait (429): hold every worker until then."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def acquire(self, endpoint_key: str | None = None) -> None:
        """Block until a request may be sent."""
        wait = 0.0
        with self._lock:
            pause = self._paused_until - time.monotonic()
        wait = max(wait, pause)
        if self._global is not None:
            wait = max(wait, self._global.reserve())
        if self._account is not None:
            wait = max(wait, self._account.reserve())
        bucket = self._endpoint.get(endpoint_key) if endpoint_key else None
        if bucket is not None:
            wait = max(wait, bucket.reserve())
        if wait > 0:
            self.waited_seconds += wait
            time.sleep(wait)
