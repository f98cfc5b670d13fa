"""Small in-process fakes for the concurrency core: an API stand-in that serves pages behind a
cursor (no HTTP), and a stream carrying only what ``paging`` and ``batches`` read of
``ApiStream`` (no SDK). Every request takes one of the scheduler's slots, as the HTTP client
does, so the slot cap can be counted here."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any

import pytest

from taps_common import paging
from taps_common.errors import ChildNotFoundError
from taps_common.run_stats import RunStats
from taps_common.scheduler import Scheduler

# How long a test waits for work it started before calling it hung. Generous: the machine is
# shared, and a test that passes never waits this long (it is a hang guard, not a speed check).
HANG_GUARD = 10.0


def run_bounded(func: Callable[[], Any], timeout: float = HANG_GUARD) -> Any:
    """``func()`` on a thread of its own: its result (or its exception), or a test failure if
    it has not ended after ``timeout`` seconds. A loop that never ends fails the test instead
    of hanging the suite (the thread is a daemon, so the run can still exit)."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = func()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, name="bounded", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        pytest.fail(f"still running after {timeout} s: it loops or waits forever")
    if "error" in box:
        raise box["error"]
    return box["value"]


class InFlight:
    """Requests on the wire at once: how many now, the most seen, how many in all."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.now = 0
        self.most = 0
        self.total = 0

    @contextmanager
    def request(self) -> Iterator[None]:
        with self._lock:
            self.now += 1
            self.total += 1
            self.most = max(self.most, self.now)
        try:
            yield
        finally:
            with self._lock:
                self.now -= 1


def jitter(path: str, params: Mapping[str, Any]) -> float:
    """0-3 ms, fixed per request: concurrent requests then finish in another order than
    they were sent, the same way on every run."""
    return zlib.crc32(repr((path, sorted(params.items()))).encode()) % 4 / 1000


class FakeApi:
    """Answers ``get(path, params)`` from ``data(path, plan)``: a list is served a page at a
    time (``limit`` items after the ``cursor`` offset, ``next`` while more remain), a dict
    whole; ``data`` may raise (a 404 as ChildNotFoundError). Each request holds a request
    slot of ``scheduler`` while it is "on the wire"."""

    def __init__(
        self,
        scheduler: Scheduler,
        data: Callable[[str, dict[str, Any]], Any],
        latency: Callable[[str, Mapping[str, Any]], float] | None = jitter,
    ) -> None:
        self.scheduler = scheduler
        self.data = data
        self.latency = latency
        self.in_flight = InFlight()
        self._lock = threading.Lock()
        self.requests: list[tuple[str, dict[str, Any]]] = []

    def get(self, path: str, params: Mapping[str, Any]) -> tuple[Any, int]:
        plan = {k: v for k, v in params.items() if k not in ("limit", "cursor")}
        with self.scheduler.request_slot(), self.in_flight.request():
            with self._lock:
                self.requests.append((path, dict(params)))
            if self.latency is not None:
                time.sleep(self.latency(path, params))
            answer = self.data(path, plan)
        if isinstance(answer, dict):
            return answer, 200
        offset = int(params.get("cursor") or 0)
        limit = int(params.get("limit") or max(1, len(answer)))
        more = offset + limit < len(answer)
        return {
            "items": answer[offset : offset + limit],
            "next": str(offset + limit) if more else None,
        }, 200


class FakeStream:
    """The part of ``ApiStream`` that ``paging.walk``, ``start_batch`` and ``finish_batch``
    use, over a FakeApi. Children are FakeStreams whose path names ``{parent_id}``."""

    records_key: str | None = "items"
    paginated = True
    buffer_per_plan = False
    edge_key_fields: tuple[str, ...] = ()

    def __init__(
        self,
        name: str,
        api: FakeApi,
        *,
        path: str = "/things",
        plans: list[dict[str, Any]] | None = None,
        page_limit: int = 3,
        detail_path: str | None = None,
        children: list[FakeStream] | None = None,
        stats: RunStats | None = None,
    ) -> None:
        self.name = name
        self.api = api
        self.path = path
        self.plans = plans or [{}]
        self.page_limit = page_limit
        self.detail_path = detail_path
        self.children = children or []
        self.cp_tap = SimpleNamespace(stats=stats or RunStats())
        self._lock = threading.Lock()
        self.started: list[tuple[dict[str, Any], str]] = []  # remember_start: context, thread
        self.skips: list[ChildNotFoundError] = []

    @property
    def scheduler(self) -> Scheduler:
        return self.api.scheduler

    # ----- paging.walk ------------------------------------------------------------------
    def url_path(self, context: Mapping[str, Any] | None, template: str | None = None) -> str:
        return (template or self.path).format(**dict(context or {}))

    def request_plans(self, context: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [dict(plan) for plan in self.plans]

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        return ""

    def end_for(self, tenant: str, status: str, reason: str) -> None:
        self.cp_tap.stats.end(self.name, tenant, status, reason)

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        return {"limit": self.page_limit, **({"cursor": cursor} if cursor else {})}

    def fetch(
        self, path: str, params: Mapping[str, Any], context: Mapping[str, Any] | None
    ) -> tuple[Any, int]:
        return self.api.get(path, params)

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list[Any], str | None]:
        return body["items"], body["next"]

    def extract_object(self, body: Any, path: str, status: int) -> dict[str, Any]:
        return body

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        return [dict(item)]

    def with_context_keys(
        self, record: dict[str, Any], context: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        return {**record, **dict(context or {})}

    def on_plan_finished(
        self, records: list[dict[str, Any]], plan: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        return records

    def chunk_planner(self, todo: list[dict[str, Any]], width: int) -> paging.ChunkPlanner:
        return paging.ChunkPlanner(todo, width)

    def split_plan(self, plan: Mapping[str, Any]) -> list[dict[str, Any]] | None:
        return None

    def walk(
        self, context: Mapping[str, Any] | None, plans: list[dict[str, Any]] | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        return paging.walk(self, context, plans, stats=self.cp_tap.stats)

    def fetch_all(self, context: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [rec for page in self.walk(context) for rec in page]

    # ----- batches ----------------------------------------------------------------------
    def children_to_prefetch(self, context: Mapping[str, Any] | None) -> list[FakeStream]:
        return list(self.children)

    def generate_child_contexts(
        self, record: dict[str, Any], context: Mapping[str, Any] | None
    ) -> list[dict[str, Any]]:
        return [{"parent_id": record["id"]}] if self.children else []

    def remember_start(self, context: Mapping[str, Any]) -> None:
        with self._lock:
            self.started.append((dict(context), threading.current_thread().name))

    def merge_detail(
        self, record: dict[str, Any], context: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        assert self.detail_path is not None
        path = self.url_path({**dict(context or {}), **record}, self.detail_path)
        body, status = self.fetch(path, {}, context)
        return {**record, **self.extract_object(body, path, status)}

    def note_child_skip(self, exc: ChildNotFoundError, tenant: str) -> None:
        self.skips.append(exc)
