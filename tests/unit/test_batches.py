"""A batch of parents made ready (``start_batch`` / ``finish_batch``) over a fake API: detail
merges, a vanished parent skipped, children fetched and held for their own parent's context,
a child's failure kept with that parent only."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

import pytest

from taps_common.batches import finish_batch, start_batch
from taps_common.errors import ApiResponseError, ChildNotFoundError, StreamEndedError
from taps_common.fanout import unwrap
from taps_common.run_stats import RunStats, StreamOutcome
from taps_common.scheduler import Scheduler
from tests.unit.fakes import FakeApi, FakeStream, run_bounded

MAIN = threading.current_thread().name
DELETED = 2  # its detail GET answers 404: deleted between the list and the detail
BROKEN = 4  # its children's request fails (see ``api``)


def children_of(i: int) -> list[dict[str, Any]]:
    return [{"cid": f"{i}-{j}"} for j in range(i % 3 + 2)]  # 2-4 each: some take two pages


def serve(broken: type[Exception]) -> Callable[[str, dict[str, Any]], Any]:
    """Six things with details and children. ``broken`` is what BROKEN's children's request
    raises: ChildNotFoundError (a 404, about that parent only) or ApiResponseError (a broken
    body, which also ends the child stream for the tenant)."""

    def data(path: str, plan: dict[str, Any]) -> Any:
        parts = path.strip("/").split("/")
        if parts == ["things"]:
            return [{"id": i} for i in range(6)]
        i = int(parts[1])
        if len(parts) == 2:
            if i == DELETED:
                raise ChildNotFoundError(path, 404)
            return {"detail": f"d{i}"}
        if i == BROKEN:
            raise ChildNotFoundError(path, 404) if broken is ChildNotFoundError else broken(path)
        return children_of(i)

    return data


def make(
    max_concurrency: int, *, detail: bool = True, broken: type[Exception] = ChildNotFoundError
) -> tuple[FakeStream, FakeStream, FakeApi]:
    api = FakeApi(Scheduler(max_concurrency), serve(broken))
    stats = RunStats()  # one run: its streams share the stats
    child = FakeStream("child", api, path="/things/{parent_id}/children", page_limit=2, stats=stats)
    parent = FakeStream(
        "things",
        api,
        detail_path="/things/{id}" if detail else None,
        children=[child],
        stats=stats,
    )
    return parent, child, api


def ready(parent: FakeStream, batch: list[dict]) -> list[dict]:
    """One batch started, its work run off the SDK's thread, and finished."""
    work = start_batch(parent, batch, None, pool=parent.scheduler.pool)
    return finish_batch(
        parent, run_bounded(work), None, stats=parent.cp_tap.stats, hold=parent.scheduler.hold
    )


def test_details_merged_children_held_per_parent_and_failures_kept_apart():
    parent, child, api = make(4)
    batch = [{"id": i} for i in range(6)]
    work = start_batch(parent, batch, None, pool=parent.scheduler.pool)
    # Planned on the SDK's thread: each child's bookmark is read there, before any request.
    assert child.started == [({"parent_id": i}, MAIN) for i in range(6)]
    assert api.requests == []
    result = run_bounded(work)  # the work runs off the SDK's thread, as on a coordinator
    records = finish_batch(
        parent, result, None, stats=parent.cp_tap.stats, hold=parent.scheduler.hold
    )

    assert records == [{"id": i, "detail": f"d{i}"} for i in range(6) if i != DELETED]
    assert [exc.path for exc in parent.skips] == [f"/things/{DELETED}"]
    assert parent.cp_tap.stats.parents_answered("things", "") == (5, 0)

    sched = api.scheduler
    for i in range(6):
        found, held = sched.take("child", {"parent_id": i})
        if i == DELETED:
            assert not found, "a vanished parent's children are not requested"
        elif i == BROKEN:
            assert found
            with pytest.raises(ChildNotFoundError, match=f"/things/{BROKEN}/children"):
                unwrap(held)
        else:
            assert found
            assert unwrap(held) == [{**rec, "parent_id": i} for rec in children_of(i)]
    paths = {path for path, _ in api.requests}
    assert f"/things/{DELETED}/children" not in paths
    sched.shutdown()


def test_a_child_stream_ending_is_held_for_the_parent_that_saw_it():
    # A broken body ends the child stream for the tenant at once (paging's rule), so the
    # other parents' children are either fetched or stopped quietly (StreamEndedError,
    # which the child's get_records swallows); the failure itself, which the child stream
    # reports, is held for the parent whose request saw it and for no other.
    parent, _, api = make(4, detail=False, broken=ApiResponseError)
    batch = [{"id": 0}, {"id": BROKEN}, {"id": 1}, {"id": 3}]
    records = ready(parent, batch)
    assert records == batch
    sched = api.scheduler
    with pytest.raises(ApiResponseError, match=f"/things/{BROKEN}/children"):
        unwrap(sched.take("child", {"parent_id": BROKEN})[1])
    for i in (0, 1, 3):
        found, held = sched.take("child", {"parent_id": i})
        assert found
        with contextlib.suppress(StreamEndedError):
            assert unwrap(held) == [{**rec, "parent_id": i} for rec in children_of(i)]
    ending = parent.cp_tap.stats.ending("child", "")
    assert ending is not None and ending.status == StreamOutcome.FAILED
    sched.shutdown()


def test_without_a_detail_path_records_pass_through_uncounted():
    parent, _, api = make(4, detail=False)
    batch = [{"id": 0}, {"id": 1}]
    records = ready(parent, batch)
    assert records == batch
    assert parent.cp_tap.stats.parents_answered("things", "") == (0, 0)
    assert not any(path == "/things/0" for path, _ in api.requests)
    api.scheduler.shutdown()


def test_at_max_concurrency_one_children_are_left_to_fetch_themselves():
    # Nothing is fetched ahead: each child requests its own pages when the SDK reaches it,
    # in the order a plain SDK run would.
    parent, child, api = make(1)
    result = start_batch(parent, [{"id": 0}, {"id": 1}], None, pool=parent.scheduler.pool)()
    assert result.children == [] and child.started == []
    assert finish_batch(
        parent, result, None, stats=parent.cp_tap.stats, hold=parent.scheduler.hold
    ) == [
        {"id": 0, "detail": "d0"},
        {"id": 1, "detail": "d1"},
    ]
    assert [path for path, _ in api.requests] == ["/things/0", "/things/1"]
    assert api.scheduler.take("child", {"parent_id": 0}) == (False, None)
