"""Bounded concurrent fan-out of per-parent requests, inside the SDK's sequential model.

When a parent stream holds one page of records, the requests its selected children need for that
whole page run in a pool of ``max_concurrency`` workers; the results wait, keyed by child
context, until the SDK walks the children as usual. Memory stays bounded by one page; record
order, keys and state are what the SDK makes them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


def context_key(context: Mapping[str, Any] | None) -> tuple[Any, ...]:
    """A hashable key for a child context."""
    return tuple(sorted((context or {}).items()))


class FanoutPool:
    """One pool per tap run; ``max_concurrency`` 1 means requests are made inline, in order."""

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max_concurrency
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def map_ordered(self, func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        """Run ``func`` over ``items``; return results (or the exception raised) in input order."""
        if self.max_concurrency <= 1 or len(items) <= 1:
            return [_capture(func, item) for item in items]
        executor = self._get_executor()
        futures: list[Future[Any]] = [executor.submit(_capture, func, item) for item in items]
        return [f.result() for f in futures]

    def _get_executor(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self.max_concurrency, thread_name_prefix="fanout"
                )
            return self._executor

    def shutdown(self) -> None:
        """Stop the workers (end of run)."""
        with self._lock:
            if self._executor is not None:
                self._executor.shutdown(wait=True, cancel_futures=True)
                self._executor = None


def _capture(func: Callable[[Any], Any], item: Any) -> Any:
    try:
        return func(item)
    except Exception as exc:
        return _Failure(exc)


class _Failure:
    """An exception carried back from a worker, re-raised where the result is consumed."""

    __slots__ = ("exc",)

    def __init__(self, exc: Exception) -> None:
        self.exc = exc


def unwrap(result: Any) -> Any:
    """Return a worker's result, raising the exception it captured."""
    if isinstance(result, _Failure):
        raise result.exc
    return result
