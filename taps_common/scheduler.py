"""The run-wide scheduler: every request of a run goes through it, and it keeps the workers busy
while the SDK, one stream and one context after another, writes what they fetched.

- At most ``max_concurrency`` requests are in flight for the whole run (one slot per request,
  whoever sends it: a pool worker, a read-ahead thread, the SDK's thread).
- The next batch of parents (detail merges and child requests) is fetched while the SDK
  writes this one; the next top-level stream's first pages while this stream drains. A fixed
  number of batches and pages is held, so memory does not depend on the account's size.
- Results wait here, keyed by stream and context, until the SDK asks that stream for that
  context; streams never reach into each other.

Threads: ``pipelined``/``start_next_streams``/``warm``/``take*`` run on the SDK's (main) thread,
which alone reads state; coordinators run batches; pool workers send requests.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

from taps_common.fanout import FanoutPool, context_key
from taps_common.run_stats import RunStats

T = TypeVar("T")
BATCHES_AHEAD = 1  # batches fetched while one is written: two batches held at most
WARM_AHEAD = 4  # top-level streams whose first pages are fetched before the SDK reaches them


class WarmableStream(Protocol):
    """A stream as the warm-ahead policy reads it (``streams.ApiStream`` is one)."""

    @property
    def name(self) -> str:
        """The stream's name."""
        ...

    @property
    def partitions(self) -> list[dict[Any, Any]] | None:
        """Its contexts, in the order the SDK syncs them (None: one, empty)."""
        ...

    @property
    def is_child(self) -> bool:
        """Whether it syncs inside a parent's loop (then it is never started ahead)."""
        ...

    @property
    def selected(self) -> bool:
        """Whether the catalog selects it."""
        ...

    @property
    def fetch_ahead(self) -> bool:
        """False when there is nothing to start early."""
        ...

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        """The workspace or account a context reads."""
        ...

    def remember_start(self, context: Mapping[str, Any]) -> None:
        """Read the context's bookmark now, on the SDK's thread."""
        ...

    def start_pages(self, context: Mapping[str, Any] | None) -> Iterator[Any]:
        """The context's pages, fetched from now on a thread of their own."""
        ...


class Scheduler:
    """One per tap run."""

    def __init__(self, max_concurrency: int) -> None:
        self.max_concurrency = max(1, int(max_concurrency))
        self.pool = FanoutPool(self.max_concurrency)
        self._slots = threading.BoundedSemaphore(self.max_concurrency)
        self._coordinators: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._held: dict[tuple[str, tuple[Any, ...]], Any] = {}
        self._parents: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
        self._warm: dict[tuple[str, tuple[Any, ...]], Iterator[Any]] = {}

    # ----- request slots ------------------------------------------------------------------
    @contextmanager
    def request_slot(self) -> Iterator[None]:
        """Held while one request is on the wire."""
        with self._slots:
            yield

    # ----- results waiting for the SDK ------------------------------------------------------
    def hold(self, stream: str, context: Mapping[str, Any] | None, result: Any) -> None:
        """Keep a fetched result (records or a captured failure) for ``stream``'s context."""
        with self._lock:
            self._held[stream, context_key(context)] = result

    def take(self, stream: str, context: Mapping[str, Any] | None) -> tuple[bool, Any]:
        """(True, result) if one was fetched ahead for this context, else (False, None)."""
        with self._lock:
            key = (stream, context_key(context))
            if key in self._held:
                return True, self._held.pop(key)
        return False, None

    def hold_parent_record(
        self, child: str, context: Mapping[str, Any], record: dict[str, Any]
    ) -> None:
        """A derived stream's input: its parent's record for one child context."""
        with self._lock:
            self._parents[child, context_key(context)] = record

    def parent_record(self, child: str, context: Mapping[str, Any] | None) -> dict[str, Any]:
        """The parent record held for a derived stream's context (empty if none)."""
        with self._lock:
            return self._parents.pop((child, context_key(context)), {})

    # ----- the next stream's first pages ---------------------------------------------------
    def warm(self, stream: str, context: Mapping[str, Any] | None, pages: Iterator[Any]) -> None:
        """Keep a started page iterator (a read-ahead) until ``stream`` syncs ``context``."""
        with self._lock:
            self._warm.setdefault((stream, context_key(context)), pages)

    def take_warm(self, stream: str, context: Mapping[str, Any] | None) -> Iterator[Any] | None:
        """The started page iterator of this stream and context, if one was warmed."""
        with self._lock:
            return self._warm.pop((stream, context_key(context)), None)

    def is_warm(self, stream: str) -> bool:
        """Whether any context of ``stream`` was started ahead."""
        with self._lock:
            return any(name == stream for name, _ in self._warm)

    def start_next_streams(
        self,
        done: WarmableStream,
        context: Mapping[str, Any] | None,
        streams: Sequence[WarmableStream],
        stats: RunStats,
    ) -> None:
        """The warm-ahead policy. ``done`` (a top-level stream) has every page of
        ``context``: if that was its last context, start the first pages of the next
        ``WARM_AHEAD`` selected top-level streams of ``streams`` (the SDK's order) now, while
        the SDK writes this one's last records. Small streams then cost one latency together
        instead of one each. A stream that ``stats`` says ended for that tenant, that was
        started already or that has nothing to fetch ahead is passed over.

        SDK thread: the bookmarks of the streams started are read here.
        """
        partitions: list[dict[Any, Any]] = done.partitions or [{}]
        if dict(partitions[-1]) != dict(context or {}):
            return
        names = [s.name for s in streams]
        upcoming = [
            s for s in streams[names.index(done.name) + 1 :] if not s.is_child and s.selected
        ]
        for candidate in upcoming[:WARM_AHEAD]:
            if not candidate.fetch_ahead:
                continue
            first = candidate.partitions[0] if candidate.partitions else None
            if self.is_warm(candidate.name) or stats.ending(
                candidate.name, candidate.tenant(first)
            ):
                continue
            candidate.remember_start(first or {})
            self.warm(candidate.name, first, candidate.start_pages(first))

    # ----- parent batches, pipelined -------------------------------------------------------
    def pipelined(
        self,
        batches: Iterable[T],
        start: Callable[[T], Callable[[], Any]],
        finish: Callable[[Any], Iterable[Any]],
    ) -> Iterator[Any]:
        """Yield what ``finish`` makes of each batch, fetching the next batch meanwhile.

        ``start`` runs on the caller's thread (it may read state) and returns the work to do
        off it; the work runs on a coordinator, which uses the pool; ``finish`` runs on the
        caller's thread with the work's result. At most ``BATCHES_AHEAD`` batches wait ahead.
        """
        if self.max_concurrency <= 1:
            for batch in batches:
                yield from finish(start(batch)())
            return
        ahead: list[Future[Any]] = []
        source = iter(batches)
        try:
            for batch in source:
                ahead.append(self._coordinator().submit(start(batch)))
                while len(ahead) > BATCHES_AHEAD:
                    yield from finish(ahead.pop(0).result())
            while ahead:
                yield from finish(ahead.pop(0).result())
        finally:
            for future in ahead:  # the stream ended early: let what runs finish, unread
                future.cancel()

    def _coordinator(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._coordinators is None:
                self._coordinators = ThreadPoolExecutor(
                    max_workers=BATCHES_AHEAD + 1, thread_name_prefix="batch"
                )
            return self._coordinators

    def shutdown(self) -> None:
        """End of run: stop warmed read-aheads, coordinators and workers."""
        with self._lock:
            warm, self._warm = list(self._warm.values()), {}
            coordinators, self._coordinators = self._coordinators, None
        for pages in warm:
            close = getattr(pages, "close", None)
            if close is not None:
                close()
        if coordinators is not None:
            coordinators.shutdown(wait=True, cancel_futures=True)
        self.pool.shutdown()
