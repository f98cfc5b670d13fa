"""Audit-window sizing and splitting, without the SDK: ``ChunkPlanner``, tap-segment's
``DensityWindows``, and ``AuditEventsStream``'s own ``split_plan``/``chunk_planner``/
``on_plan_finished`` borrowed onto a fake stream (they read only ``SHORTEST``, ``FILL``,
``page_limit`` and the window setting), walked by ``paging.walk`` against fake event servers:
one with a dense hour then a sparse afternoon, and one that always says there is more."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import pytest

from tap_segment.streams import AuditEventsStream, DensityWindows, iso
from taps_common import paging
from taps_common.errors import ApiResponseError, StreamEndedError
from taps_common.paging import ChunkPlanner
from taps_common.run_stats import StreamOutcome
from taps_common.scheduler import Scheduler
from tests.unit.fakes import FakeStream, run_bounded

T0 = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
MINUTE = dt.timedelta(minutes=1)
HOUR = dt.timedelta(hours=1)
SHORTEST = AuditEventsStream.SHORTEST


def moment(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def length(window: Mapping[str, Any]) -> dt.timedelta:
    return moment(window["endTime"]) - moment(window["startTime"])


def plans(start: dt.datetime, end: dt.datetime, window: dt.timedelta) -> list[dict[str, Any]]:
    """What AuditEventsStream.request_plans makes: fixed windows from start to end."""
    out = []
    while start < end:
        out.append({"startTime": iso(start), "endTime": iso(min(start + window, end))})
        start += window
    return out


def assert_contiguous(windows: list[Mapping[str, Any]], start: dt.datetime, end: dt.datetime):
    """The windows cover [start, end] exactly: no gap, no overlap."""
    assert windows[0]["startTime"] == iso(start)
    for before, after in itertools.pairwise(windows):
        assert before["endTime"] == after["startTime"]
    assert windows[-1]["endTime"] == iso(end)


# ----- ChunkPlanner and DensityWindows on their own -----------------------------------------
def test_chunk_planner_hands_out_fixed_slices_in_order():
    todo = [{"n": n} for n in range(7)]
    planner = ChunkPlanner(todo, 3)
    chunks = [planner.next_chunk(held) for held in (0, 99, 0, 0)]
    assert chunks == [todo[0:3], todo[3:6], todo[6:7], []]
    assert ChunkPlanner(todo, 0).next_chunk(0) == todo[:1], "a width below 1 still advances"


def test_density_windows_shrink_where_dense_and_grow_back_where_sparse():
    end = T0 + 12 * HOUR
    planner = DensityWindows(plans(T0, end, HOUR), 3, HOUR, 80.0, SHORTEST)
    seen: list[dict[str, Any]] = []

    def chunk(held: int) -> list[dt.timedelta]:
        windows = planner.next_chunk(held)
        seen.extend(windows)
        return [length(w) for w in windows]

    assert chunk(0) == [HOUR] * 3  # nothing known yet: the configured length
    # 1,440 events in those 3 hours: windows sized for 80 events each are 10 minutes long.
    assert chunk(1440) == [10 * MINUTE] * 3
    assert chunk(10**6) == [SHORTEST] * 3, "denser still: never below the shortest"
    assert chunk(0) == [HOUR] * 3, "nothing there: straight back to the configured length"
    assert chunk(10**6) == [SHORTEST] * 3
    assert chunk(1) == [HOUR] * 3, "sparse: back up, never above the configured length"
    while rest := planner.next_chunk(0):
        seen.extend(rest)
    assert_contiguous(seen, T0, end)


def test_density_windows_end_however_full_every_window_is():
    # A server that always answers full pages: every chunk looks as dense as it can be. The
    # windows stay at the shortest and the plan still reaches its end in a bounded number
    # of chunks (a window length of nearly zero would never get there).
    end = T0 + 6 * HOUR
    planner = DensityWindows(plans(T0, end, HOUR), 4, HOUR, 80.0, SHORTEST)
    seen: list[dict[str, Any]] = []
    bound = int((end - T0) / (4 * SHORTEST)) + 2
    for _ in range(bound):
        windows = planner.next_chunk(10**9)
        if not windows:
            break
        seen.extend(windows)
    else:
        pytest.fail(f"still planning after {bound} chunks")
    assert all(length(w) >= SHORTEST for w in seen[4:])  # after the first, blind chunk
    assert_contiguous(seen, T0, end)


def test_split_plan_halves_a_window_down_to_twice_the_shortest():
    split = AuditEventsStream.split_plan
    stream = AuditWindows(EventApi(Scheduler(1), []), window_hours=1)
    plan = {"startTime": iso(T0), "endTime": iso(T0 + 2 * SHORTEST), "extra": "kept"}
    first, second = split(stream, plan)
    assert (first["extra"], second["extra"]) == ("kept", "kept")
    assert_contiguous([first, second], T0, T0 + 2 * SHORTEST)
    assert length(first) == length(second) == SHORTEST
    shorter = {"startTime": iso(T0), "endTime": iso(T0 + 2 * SHORTEST - dt.timedelta(seconds=1))}
    assert split(stream, shorter) is None, "below this a dense window is paginated instead"


# ----- walked against fake event servers ----------------------------------------------------
class EventApi:
    """The audit-events endpoint: events between ``startTime`` and ``endTime`` (both ends
    included, as the walk's edge deduplication expects), newest first, ``limit`` a page
    behind an offset cursor. Each request holds a slot of the scheduler."""

    def __init__(self, scheduler: Scheduler, events: list[tuple[dt.datetime, str]]) -> None:
        self.scheduler = scheduler
        self.events = sorted(events, reverse=True)
        self._lock = threading.Lock()
        self.windows: list[dict[str, Any]] = []  # every window asked for (first pages only)

    def note(self, params: Mapping[str, Any]) -> None:
        if "cursor" not in params:
            with self._lock:
                self.windows.append({k: params[k] for k in ("startTime", "endTime")})

    def get(self, path: str, params: Mapping[str, Any]) -> tuple[Any, int]:
        with self.scheduler.request_slot():
            self.note(params)
            start, end = moment(params["startTime"]), moment(params["endTime"])
            inside = [(t, i) for t, i in self.events if start <= t <= end]
            offset, limit = int(params.get("cursor") or 0), int(params["limit"])
            page = inside[offset : offset + limit]
            more = offset + limit < len(inside)
            items = [{"id": i, "timestamp": iso(t)} for t, i in page]
            return {"items": items, "next": str(offset + limit) if more else None}, 200


class ForeverApi(EventApi):
    """A server that always says there is more: every page is full and names a next cursor,
    a new one each time (``fresh``) or the same one again."""

    def __init__(self, scheduler: Scheduler, *, fresh: bool) -> None:
        super().__init__(scheduler, [])
        self.fresh = fresh
        self.served = 0

    def get(self, path: str, params: Mapping[str, Any]) -> tuple[Any, int]:
        with self.scheduler.request_slot():
            self.note(params)
            with self._lock:
                self.served += 1
                n = self.served
            items = [
                {"id": f"{n}-{j}", "timestamp": params["startTime"]}
                for j in range(int(params["limit"]))
            ]
            return {"items": items, "next": f"c{n}" if self.fresh else "more"}, 200


class AuditWindows(FakeStream):
    """A fake stream carrying AuditEventsStream's own window logic."""

    buffer_per_plan = True
    edge_key_fields = ("id",)
    FILL = AuditEventsStream.FILL
    SHORTEST = AuditEventsStream.SHORTEST
    split_plan = AuditEventsStream.split_plan
    on_plan_finished = AuditEventsStream.on_plan_finished
    _planner = AuditEventsStream.chunk_planner

    def __init__(self, api: EventApi, *, window_hours: float, page_limit: int = 5) -> None:
        super().__init__("audit_events", api, path="/audit-events", page_limit=page_limit)
        self.cp_tap.settings = SimpleNamespace(audit_window_hours=window_hours)
        self.segment = self.cp_tap  # SegmentStream reads the tap's Segment side under this name
        self.chunks: list[list[dict[str, Any]]] = []

    def chunk_planner(self, todo: list[dict[str, Any]], width: int) -> ChunkPlanner:
        planner = self._planner(todo, width)
        chunks = self.chunks

        class Recorded(ChunkPlanner):
            def next_chunk(self, held_before: int) -> list[dict[str, Any]]:
                chunk = planner.next_chunk(held_before)
                chunks.append(chunk)
                return chunk

        return Recorded(todo, width)


DENSE_UNTIL = T0 + 3 * HOUR
END = T0 + 8 * HOUR


def dense_then_sparse() -> list[tuple[dt.datetime, str]]:
    """An event every 10 s for three hours (6 a minute: a minute holds more than a page of
    5), then one every half hour."""
    every = dt.timedelta(seconds=10)
    dense = [T0 + n * every for n in range((DENSE_UNTIL - T0) // every)]
    sparse = [DENSE_UNTIL + n * 30 * MINUTE for n in range(10)]
    return [(t, f"e{n:05d}") for n, t in enumerate(dense + sparse)]


def walk_events(max_concurrency: int) -> tuple[list[dict[str, Any]], AuditWindows]:
    sched = Scheduler(max_concurrency)
    stream = AuditWindows(EventApi(sched, dense_then_sparse()), window_hours=0.5)
    todo = plans(T0, END, 30 * MINUTE)
    try:
        pages = run_bounded(
            lambda: list(
                paging.walk(stream, None, todo, stats=stream.cp_tap.stats, pool=sched.pool)
            )
        )
    finally:
        sched.shutdown()
    return [rec for page in pages for rec in page], stream


@pytest.mark.parametrize("max_concurrency", [1, 4])
def test_windows_follow_the_density_and_every_event_comes_once_in_order(max_concurrency):
    records, stream = walk_events(max_concurrency)
    events = sorted(dense_then_sparse())
    assert [r["id"] for r in records] == [i for _, i in events]
    assert [r["timestamp"] for r in records] == [iso(t) for t, _ in events]

    chunks = [chunk for chunk in stream.chunks if chunk]
    assert_contiguous([w for chunk in chunks for w in chunk], T0, END)
    lengths = [(moment(w["startTime"]), length(w)) for chunk in chunks[1:] for w in chunk]
    longest = 30 * MINUTE
    assert all(SHORTEST <= n <= longest for start, n in lengths if start + n < END)
    # Dense: the windows after the first chunk shrink to the shortest (a minute holds more
    # than a page already); sparse: they grow back to the configured length.
    dense = [n for start, n in lengths if start + n < DENSE_UNTIL]
    assert dense and all(n == SHORTEST for n in dense)
    assert any(n == longest for start, n in lengths if start >= DENSE_UNTIL + HOUR)

    asked = stream.api.windows
    assert all(length(w) >= SHORTEST for w in asked if moment(w["endTime"]) < END)
    # The first chunk's half-hour windows were too full: they were split on the way.
    assert any(length(w) < longest for w in asked if moment(w["endTime"]) <= T0 + HOUR)


@pytest.mark.parametrize("parallel", [True, False], ids=["windows-at-once", "in-sequence"])
@pytest.mark.parametrize("fresh", [True, False], ids=["new-cursor", "same-cursor"])
def test_a_server_that_always_says_more_cannot_make_the_walk_endless(monkeypatch, parallel, fresh):
    # The page cap is a million in production; a small one keeps the walk with new cursors
    # short. Nothing else is changed: with the same cursor again, the repeat guard ends it.
    monkeypatch.setattr(paging, "MAX_PAGES", 4)
    sched = Scheduler(4)
    api = ForeverApi(sched, fresh=fresh)
    stream = AuditWindows(api, window_hours=24)
    todo = plans(T0, T0 + 2 * 24 * HOUR, 24 * HOUR)
    try:
        # The walk ends with the error, or, where windows are fetched at once, a sibling
        # window may stop first because the stream has ended (the error is recorded then).
        with pytest.raises((ApiResponseError, StreamEndedError)):
            pool = sched.pool if parallel else None
            run_bounded(
                lambda: list(paging.walk(stream, None, todo, stats=stream.cp_tap.stats, pool=pool))
            )
    finally:
        sched.shutdown()
    # Windows were split while they were long enough, and never below the shortest.
    assert min(length(w) for w in api.windows) >= SHORTEST
    assert min(length(w) for w in api.windows) < 2 * SHORTEST, "split all the way down"
    # A day halved until under two minutes is 10 levels deep: well under this.
    assert api.served < 200
    ending = stream.cp_tap.stats.ending("audit_events", "")
    assert ending is not None and ending.status == StreamOutcome.FAILED
    assert ("More than 4 pages" if fresh else "already returned") in ending.reason
