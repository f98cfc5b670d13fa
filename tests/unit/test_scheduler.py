"""The run-wide scheduler on its own: request slots, results held for the SDK, warmed streams,
pipelined batches. No HTTP: requests are FakeApi calls that hold a slot while "on the wire"."""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import pytest

from taps_common import paging
from taps_common.fanout import unwrap
from taps_common.read_ahead import ReadAhead
from taps_common.run_stats import RunStats, StreamOutcome
from taps_common.scheduler import WARM_AHEAD, Scheduler
from tests.unit.fakes import HANG_GUARD, FakeApi, FakeStream, InFlight, run_bounded

MAIN = threading.current_thread().name


def wait_until(condition: Callable[[], bool], timeout: float) -> bool:
    """Poll ``condition`` until it holds or ``timeout`` passes; whether it held."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.002)
    return True


# ----- request slots -----------------------------------------------------------------------
@pytest.mark.parametrize("max_concurrency", [1, 3])
def test_never_more_requests_in_flight_than_slots(max_concurrency):
    sched = Scheduler(max_concurrency)
    meter = InFlight()
    release = threading.Event()

    def request() -> None:
        with sched.request_slot(), meter.request():
            release.wait(HANG_GUARD)

    threads = [threading.Thread(target=request, daemon=True) for _ in range(3 * max_concurrency)]
    for thread in threads:
        thread.start()
    try:
        assert wait_until(lambda: meter.now >= max_concurrency, HANG_GUARD), "slots are used"
        # Every other thread is waiting for a slot now; give them time to (wrongly) get one.
        # This waits for something that must not happen: it is the window a broken cap
        # shows itself in, not a measure of speed.
        assert not wait_until(lambda: meter.now > max_concurrency, 0.3), "more than the cap"
    finally:
        release.set()
        for thread in threads:
            thread.join(HANG_GUARD)
    assert meter.total == 3 * max_concurrency
    assert meter.most == max_concurrency


def test_pool_read_aheads_and_the_callers_thread_share_the_slots():
    # The README's claim: read-ahead threads, pool workers and the SDK's thread together
    # never have more than max_concurrency requests on the wire.
    sched = Scheduler(4)
    api = FakeApi(sched, lambda path, plan: [{"id": i} for i in range(40)])
    streams = [FakeStream(f"s{i}", api, path=f"/s{i}", page_limit=2) for i in range(3)]
    try:
        read_aheads = [
            ReadAhead(lambda s=s: paging.walk(s, None, stats=s.cp_tap.stats), depth=2)
            for s in streams[:2]
        ]
        details = api.scheduler.pool.map_ordered(
            lambda i: api.get(f"/detail/{i}", {}), list(range(30))
        )
        own = streams[2].fetch_all(None)
        read = [[rec for page in ra for rec in page] for ra in read_aheads]
    finally:
        sched.shutdown()
    assert [len(rows) for rows in read] == [40, 40] and len(own) == 40
    assert all(unwrap(d)[1] == 200 for d in details)
    assert api.in_flight.most <= 4


# ----- results held for the SDK -------------------------------------------------------------
def test_a_held_result_is_taken_once_by_its_own_stream_and_context():
    sched = Scheduler(2)
    sched.hold("child", {"a": 1, "b": 2}, ["rows"])
    assert sched.take("other", {"a": 1, "b": 2}) == (False, None)
    assert sched.take("child", {"a": 1}) == (False, None)
    # The key does not depend on the order the context's keys were written in.
    assert sched.take("child", {"b": 2, "a": 1}) == (True, ["rows"])
    assert sched.take("child", {"a": 1, "b": 2}) == (False, None), "taken once: memory is freed"


def test_a_top_level_context_none_and_empty_are_one_key():
    sched = Scheduler(2)
    sched.hold("top", None, "x")
    assert sched.take("top", {}) == (True, "x")


def test_a_captured_failure_is_held_and_raised_where_it_is_taken():
    sched = Scheduler(2)

    def boom(_: Any) -> Any:
        raise ValueError("child answered nonsense")

    [failure] = sched.pool.map_ordered(boom, [1])
    sched.hold("child", {"id": 1}, failure)
    found, result = sched.take("child", {"id": 1})
    assert found
    with pytest.raises(ValueError, match="nonsense"):
        unwrap(result)
    sched.shutdown()


def test_a_parent_record_is_handed_over_once():
    sched = Scheduler(2)
    sched.hold_parent_record("derived", {"id": 7}, {"id": 7, "name": "seven"})
    assert sched.parent_record("derived", {"id": 7}) == {"id": 7, "name": "seven"}
    assert sched.parent_record("derived", {"id": 7}) == {}


class ClosablePages(Iterator[list[dict[str, Any]]]):
    """A stand-in for a warmed ReadAhead: counts close()."""

    def __init__(self) -> None:
        self.closed = 0

    def __next__(self) -> list[dict[str, Any]]:
        raise StopIteration

    def close(self) -> None:
        self.closed += 1


def test_the_first_warmed_pages_are_kept_until_taken():
    sched = Scheduler(2)
    first, second = ClosablePages(), ClosablePages()
    assert not sched.is_warm("next")
    sched.warm("next", None, first)
    sched.warm("next", None, second)  # started twice: the first start stands
    assert sched.is_warm("next") and not sched.is_warm("other")
    assert sched.take_warm("next", {"unrelated": 1}) is None
    assert sched.take_warm("next", {}) is first
    assert sched.take_warm("next", None) is None
    assert not sched.is_warm("next")


def test_shutdown_closes_warmed_pages_nobody_took():
    sched = Scheduler(2)
    taken, left = ClosablePages(), ClosablePages()
    sched.warm("a", None, taken)
    sched.warm("b", None, left)
    assert sched.take_warm("a", None) is taken
    sched.shutdown()
    assert (taken.closed, left.closed) == (0, 1)
    assert not sched.is_warm("b")


# ----- pipelined batches --------------------------------------------------------------------
class Pipeline:
    """start/work/finish callables for ``Scheduler.pipelined`` that log what ran where."""

    def __init__(self, *, even_waits_for_odd: bool = False) -> None:
        # With even_waits_for_odd, batch 2k's work ends only after batch 2k+1's (or after a
        # bounded wait when 2k+1 never starts): later batches finish first, on purpose.
        self.even_waits_for_odd = even_waits_for_odd
        self._lock = threading.Lock()
        self.log: list[tuple[str, int, str]] = []
        self.started = 0
        self.finished = 0
        self.most_ahead = 0  # batches started but not yet handed to finish, at most
        self.work_started: dict[int, threading.Event] = {}
        self.work_done: dict[int, threading.Event] = {}

    def _event(self, events: dict[int, threading.Event], k: int) -> threading.Event:
        with self._lock:
            return events.setdefault(k, threading.Event())

    def _note(self, what: str, k: int) -> None:
        with self._lock:
            self.log.append((what, k, threading.current_thread().name))

    def start(self, batch: list[int]) -> Callable[[], list[int]]:
        k = batch[0] // 10
        self._note("start", k)
        self.started += 1
        self.most_ahead = max(self.most_ahead, self.started - self.finished)
        began, done = self._event(self.work_started, k), self._event(self.work_done, k)

        def work() -> list[int]:
            began.set()
            self._note("work", k)
            if self.even_waits_for_odd and k % 2 == 0:
                self._event(self.work_done, k + 1).wait(5)
            self._note("done", k)
            done.set()
            return [n * 2 for n in batch]

        return work

    def finish(self, result: list[int]) -> list[int]:
        self._note("finish", result[0] // 20)
        self.finished += 1
        return result


def batches(count: int, size: int = 3) -> list[list[int]]:
    """Batch k holds 10k, 10k+1, ...: its number is its first item // 10."""
    return [[10 * k + i for i in range(size)] for k in range(count)]


def test_pipelined_holds_two_batches_at_most():
    # README: "children of at most two batches of 250 parents are held": the one being
    # written and one fetched ahead. The figure is written here, not read from
    # BATCHES_AHEAD, so raising the constant fails this test.
    sched = Scheduler(8)
    pipe = Pipeline()
    out = list(sched.pipelined(batches(12), pipe.start, pipe.finish))
    sched.shutdown()
    assert out == [2 * n for batch in batches(12) for n in batch]
    assert pipe.most_ahead == 2


def test_pipelined_fetches_the_next_batch_while_this_one_is_written():
    sched = Scheduler(8)
    pipe = Pipeline()
    records = sched.pipelined(batches(3), pipe.start, pipe.finish)
    first = next(records)  # batch 0 is with the consumer now
    assert first == 0
    assert pipe.work_started.get(1) is not None, "batch 1 was started before batch 0 was written"
    assert pipe.work_started[1].wait(HANG_GUARD), "batch 1 is fetched while batch 0 is written"
    rest = list(records)
    sched.shutdown()
    assert [first, *rest] == [2 * n for batch in batches(3) for n in batch]
    where = {(what, thread.split("_")[0]) for what, _, thread in pipe.log}
    # start reads state (SDK's thread only), finish hands results to the SDK: both on the
    # caller's thread; the work runs on a coordinator.
    assert where == {("start", MAIN), ("finish", MAIN), ("work", "batch"), ("done", "batch")}


def test_pipelined_keeps_the_order_when_later_batches_finish_first():
    sched = Scheduler(8)
    pipe = Pipeline(even_waits_for_odd=True)
    out = list(sched.pipelined(batches(8), pipe.start, pipe.finish))
    sched.shutdown()
    # Batch 1's work did end before batch 0's (else this would not test the order).
    done = [k for what, k, _ in pipe.log if what == "done"]
    assert done[:2] == [1, 0]
    assert out == [2 * n for batch in batches(8) for n in batch]
    assert [k for what, k, _ in pipe.log if what == "finish"] == list(range(8))


def test_pipelined_stops_pulling_batches_when_the_consumer_stops():
    sched = Scheduler(8)
    pipe = Pipeline()
    pulled = itertools.count()

    def source() -> Iterator[list[int]]:
        for batch in batches(100):
            next(pulled)
            yield batch

    records = sched.pipelined(source(), pipe.start, pipe.finish)
    assert next(records) == 0
    records.close()  # the stream ended for this tenant: the SDK stops asking
    run_bounded(sched.shutdown)  # work still running finishes, unread
    assert next(pulled) == 2, "batch 0 (read) and batch 1 (fetched ahead), nothing after"
    assert pipe.started == 2 and pipe.finished == 1


class LazyFuture(Future):
    """Runs its work only when its result is asked for: until then it is a batch waiting in
    the coordinators' queue (behind another stream's batches), which with real threads is
    a race to arrange."""

    def __init__(self, work: Callable[[], Any]) -> None:
        super().__init__()
        self.work = work

    def result(self, timeout: float | None = None) -> Any:
        if self.set_running_or_notify_cancel():
            try:
                self.set_result(self.work())
            except BaseException as exc:
                self.set_exception(exc)
        return super().result(timeout)


class QueuedCoordinators:
    """The coordinators' executor, for the one call pipelined makes (``submit``)."""

    def __init__(self) -> None:
        self.futures: list[LazyFuture] = []

    def submit(self, work: Callable[[], Any]) -> LazyFuture:
        future = LazyFuture(work)
        self.futures.append(future)
        return future

    def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
        pass


class QueuedScheduler(Scheduler):
    def __init__(self, max_concurrency: int) -> None:
        super().__init__(max_concurrency)
        self.queued = QueuedCoordinators()

    def _coordinator(self) -> Any:
        return self.queued


def test_pipelined_cancels_the_batch_waiting_ahead_when_the_consumer_stops():
    sched = QueuedScheduler(8)
    pipe = Pipeline()
    records = sched.pipelined(batches(5), pipe.start, pipe.finish)
    assert next(records) == 0
    records.close()
    first, ahead = sched.queued.futures
    assert first.done() and not first.cancelled()
    assert ahead.cancelled(), "the batch fetched ahead is cancelled, not left to run"
    assert [k for what, k, _ in pipe.log if what == "work"] == [0]


def test_max_concurrency_one_runs_every_batch_inline_in_order():
    sched = Scheduler(1)
    pipe = Pipeline()
    out = list(sched.pipelined(batches(3), pipe.start, pipe.finish))
    assert out == [2 * n for batch in batches(3) for n in batch]
    # Nothing fetched ahead, nothing on another thread: start, work, finish, batch by batch.
    assert pipe.log == [
        (what, k, MAIN) for k in range(3) for what in ("start", "work", "done", "finish")
    ]
    assert pipe.most_ahead == 1
    threads = {threading.current_thread().name}
    sched.pool.map_ordered(lambda _: threads.add(threading.current_thread().name), [1, 2, 3])
    assert threads == {MAIN}, "the pool sends requests inline too"


class Upcoming:
    """A stream as the warm-ahead policy sees it; ``start_pages`` returns ClosablePages."""

    def __init__(
        self,
        name: str,
        *,
        partitions: list[dict[str, Any]] | None = None,
        is_child: bool = False,
        selected: bool = True,
        fetch_ahead: bool = True,
    ) -> None:
        self.name = name
        self.partitions = partitions
        self.is_child = is_child
        self.selected = selected
        self.fetch_ahead = fetch_ahead
        self.remembered: list[dict[str, Any]] = []

    def tenant(self, context: Any) -> str:
        return str((context or {}).get("ws") or "")

    def remember_start(self, context: Any) -> None:
        self.remembered.append(dict(context))

    def start_pages(self, context: Any) -> ClosablePages:
        return ClosablePages()


def test_a_streams_last_context_starts_the_next_selected_top_level_streams():
    sched = Scheduler(2)
    stats = RunStats()
    done = Upcoming("done", partitions=[{"ws": "a"}, {"ws": "b"}])
    later = [
        Upcoming("child", is_child=True),
        Upcoming("off", selected=False),
        Upcoming("served", fetch_ahead=False),  # counts towards WARM_AHEAD, starts nothing
        Upcoming("ended", partitions=[{"ws": "a"}]),
        Upcoming("next", partitions=[{"ws": "a"}, {"ws": "b"}]),
        Upcoming("third"),
        Upcoming("beyond"),  # past WARM_AHEAD
    ]
    assert WARM_AHEAD == 4
    stats.end("ended", "a", StreamOutcome.FAILED, "broke")
    streams = [done, *later]

    sched.start_next_streams(done, {"ws": "a"}, streams, stats)  # not its last context
    assert not any(sched.is_warm(s.name) for s in later)

    sched.start_next_streams(done, {"ws": "b"}, streams, stats)
    warm = [s.name for s in later if sched.is_warm(s.name)]
    assert warm == ["next", "third"]
    assert later[4].remembered == [{"ws": "a"}]  # its first context's bookmark, read here
    assert later[5].remembered == [{}]
    assert sched.take_warm("next", {"ws": "a"}) is not None
    sched.shutdown()
