"""Walking one context of a stream: request plans (resource types, months, time windows), each
plan's pages with a cursor guard, windows fetched several at a time and emitted in order.

Runs on whichever thread asks (the SDK's, a read-ahead thread, a pool worker); it reads no
state. Whatever ends the stream for a tenant is recorded the moment it is seen, so other
threads send no new request for that stream and tenant.

It reads the stream through ``stream_protocol.PagedStream``; the run's stats (to see an
ending) and, for plans fetched at once, the worker pool are passed in.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from taps_common.errors import (
    FATAL_ERRORS,
    ApiResponseError,
    NotEntitledError,
    StreamEndedError,
)
from taps_common.fanout import FanoutPool, unwrap
from taps_common.run_stats import RunStats, StreamOutcome
from taps_common.stream_protocol import PagedStream

MAX_PAGES = 1_000_000  # a hard stop for any single walk, far above any real account
PARALLEL_PLANS = 16  # windows (plans) of one stream fetched at once (at most max_concurrency)

Plan = dict[str, Any]
Page = list[dict[str, Any]]


class PlanSplit:
    """Said by a plan's walk instead of pages: walk these smaller plans in its place."""

    __slots__ = ("plans",)

    def __init__(self, plans: list[Plan]) -> None:
        self.plans = plans


class ChunkPlanner:
    """Which plans are fetched together: fixed slices of the plan list. Streams that size
    their windows from what the previous chunk held return their own planner."""

    def __init__(self, todo: list[Plan], width: int) -> None:
        self.todo = todo
        self.width = max(1, width)
        self._offset = 0

    def next_chunk(self, held_before: int) -> list[Plan]:
        """The next plans to fetch (empty when done); ``held_before``: records of the last."""
        chunk = self.todo[self._offset : self._offset + self.width]
        self._offset += len(chunk)
        return chunk


def walk(
    stream: PagedStream,
    context: Mapping[str, Any] | None,
    plans: list[Plan] | None = None,
    *,
    stats: RunStats,
    pool: FanoutPool | None = None,
) -> Iterator[Page]:
    """Records page by page for every request plan of one context, edges deduplicated.

    ``stats``: where an ending of the stream is seen. With a ``pool`` (never from inside one
    of its workers: they would wait on each other), plans emitted whole (windows, months) are
    fetched a chunk at a time in the pool and still yielded in order.
    """
    path = stream.url_path(context)
    todo = list(stream.request_plans(context)) if plans is None else plans
    walker = _Walker(stream, path, context, stats)
    if pool is not None and stream.buffer_per_plan:
        pages = walker.in_parallel(todo, pool)
    else:
        pages = walker.in_sequence(todo)
    fields = stream.edge_key_fields
    if not fields:
        yield from pages
        return
    previous: set[Any] = set()  # records of the previous plan: windows may share an edge
    for page in pages:
        keys = [tuple(rec.get(f) for f in fields) for rec in page]
        fresh = [rec for rec, key in zip(page, keys, strict=True) if key not in previous]
        previous = set(keys)
        if fresh:
            yield fresh


class _Walker:
    """One context's walk: the stream, its path and context, and the stats it checks."""

    def __init__(
        self, stream: PagedStream, path: str, context: Mapping[str, Any] | None, stats: RunStats
    ) -> None:
        self.stream = stream
        self.path = path
        self.context = context
        self.stats = stats

    def in_sequence(self, todo: Iterable[Plan]) -> Iterator[Page]:
        """Plan after plan; a split plan's halves in its place."""
        for plan in todo:
            for page in self.plan(plan):
                if isinstance(page, PlanSplit):
                    yield from self.in_sequence(page.plans)
                else:
                    yield page

    def in_parallel(self, todo: list[Plan], pool: FanoutPool) -> Iterator[Page]:
        """A chunk of plans at a time in ``pool``, pages in plan order."""
        # A few windows at a time: enough to hide latency, little enough that memory stays
        # flat however many events a window holds.
        width = min(pool.max_concurrency, PARALLEL_PLANS)
        planner = self.stream.chunk_planner(todo, width)
        held = 0
        while chunk := planner.next_chunk(held):
            held = 0
            for page in self._together(chunk, pool):
                held += len(page)
                yield page

    def _together(self, plans: list[Plan], pool: FanoutPool) -> Iterator[Page]:
        """Plans fetched at once, pages yielded in plan order; a split plan's halves likewise."""
        fetched = pool.map_ordered(lambda plan: list(self.plan(plan)), plans)
        for result in fetched:
            for page in unwrap(result):
                if isinstance(page, PlanSplit):
                    yield from self._together(page.plans, pool)
                else:
                    yield page

    def plan(self, plan: Mapping[str, Any]) -> Iterator[Page | PlanSplit]:
        """Every page of one plan; an ending is recorded at once (see the module doc)."""
        stream = self.stream
        tenant = stream.tenant(self.context)
        try:
            yield from self._pages(plan, tenant)
        except NotEntitledError as exc:
            stream.end_for(
                tenant, StreamOutcome.SKIPPED, f"HTTP {exc.status} on {exc.path}: {exc.reason}"
            )
            raise
        except FATAL_ERRORS:
            raise
        except ApiResponseError as exc:
            stream.end_for(tenant, StreamOutcome.FAILED, str(exc))
            raise

    def _pages(self, plan: Mapping[str, Any], tenant: str) -> Iterator[Page | PlanSplit]:
        """Follow the cursor, refusing a repeated one; buffered streams yield the plan whole."""
        stream, path, context = self.stream, self.path, self.context
        buffered: Page = []
        cursor: str | None = None
        seen: set[str] = set()
        paged = stream.paginated and stream.records_key
        for _ in range(MAX_PAGES):
            if self.stats.ending(stream.name, tenant):
                raise StreamEndedError(stream.name)
            params = dict(plan)
            if paged:
                params.update(stream.page_params(cursor))
            body, status = stream.fetch(path, params, context)
            if stream.records_key:
                items, next_cursor = stream.extract_page(body, path, status)
            else:
                items, next_cursor = [stream.extract_object(body, path, status)], None
            if not cursor and next_cursor and (halves := stream.split_plan(plan)):
                # More than a page in this plan: its halves are walked instead (by the
                # caller, so this page is not held meanwhile).
                yield PlanSplit(halves)
                return
            page = [
                stream.with_context_keys(rec, context)
                for item in items
                for rec in stream.make_records(item, context, plan)
            ]
            if stream.buffer_per_plan:
                buffered.extend(page)
            elif page:
                yield page
            if not paged or not next_cursor:
                break
            if next_cursor in seen or next_cursor == cursor:
                raise ApiResponseError(
                    "The API returned a pagination cursor it had already returned; "
                    "stopping instead of looping",
                    path=path,
                    status=status,
                )
            seen.add(next_cursor)
            cursor = next_cursor
        else:  # pragma: no cover - needs a million pages
            raise ApiResponseError(f"More than {MAX_PAGES} pages", path=path)
        if stream.buffer_per_plan:
            done = stream.on_plan_finished(buffered, plan)
            if done:
                yield done
