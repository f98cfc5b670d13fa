"""The ordering guarantee, without HTTP or the SDK: one fake source synced through the real
core (plans fetched at once, read-ahead, pipelined batches with detail merges, children held
for the SDK) the way ``ApiStream._records`` and the SDK's child loop drive it, at
max_concurrency 1 and 16. Requests finish in another order than they were sent (each has
its own small latency); the records must not."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from taps_common import paging
from taps_common.batches import finish_batch, start_batch
from taps_common.fanout import unwrap
from taps_common.read_ahead import ReadAhead
from taps_common.scheduler import Scheduler
from tests.unit.fakes import FakeApi, FakeStream, run_bounded

TENANTS = ("acme", "globex")
PARTS = 6  # plans (windows) per tenant, fetched together
BATCH = 5  # parents per pipelined batch


def serve(path: str, plan: dict[str, Any]) -> Any:
    """/{tenant}/things?part=k: 3-9 things; /{tenant}/thing/{id}: its detail;
    /things/{id}/children: 0-4 children."""
    parts = path.strip("/").split("/")
    if parts[-1] == "things":
        k = int(plan["part"])
        return [{"id": f"{parts[0]}-{k}-{j}"} for j in range(3 + (k * 5) % 7)]
    if parts[1] == "thing":
        return {"detail": f"about {parts[2]}"}
    n = sum(map(ord, parts[1])) % 5
    return [{"cid": f"{parts[1]}/{j}"} for j in range(n)]


def batches_of(pages: Iterable[list[dict[str, Any]]]) -> Iterator[list[dict[str, Any]]]:
    for page in pages:
        for start in range(0, len(page), BATCH):
            yield page[start : start + BATCH]


def sync(max_concurrency: int) -> tuple[list[tuple[str, dict[str, Any]]], FakeApi]:
    """Every record of every tenant, in the order the SDK would write them."""
    sched = Scheduler(max_concurrency)
    api = FakeApi(sched, serve)
    child = FakeStream("child", api, path="/things/{parent_id}/children", page_limit=2)
    parent = FakeStream(
        "things",
        api,
        path="/{tenant}/things",
        plans=[{"part": k} for k in range(PARTS)],
        page_limit=4,
        detail_path="/{tenant}/thing/{id}",
        children=[child],
    )
    parent.buffer_per_plan = True  # whole plans, so they are fetched several at once
    out: list[tuple[str, dict[str, Any]]] = []
    try:
        for tenant in TENANTS:
            context = {"tenant": tenant}
            plans = parent.request_plans(context)
            pages = ReadAhead(
                lambda c=context, p=plans: paging.walk(
                    parent, c, p, stats=parent.cp_tap.stats, pool=parent.scheduler.pool
                ),
                depth=paging.PARALLEL_PLANS,
            )
            try:
                records = sched.pipelined(
                    batches_of(pages),
                    lambda batch, c=context: start_batch(
                        parent, batch, c, pool=parent.scheduler.pool
                    ),
                    lambda result, c=context: finish_batch(
                        parent, result, c, stats=parent.cp_tap.stats, hold=parent.scheduler.hold
                    ),
                )
                for record in records:
                    out.append(("things", record))
                    for child_context in parent.generate_child_contexts(record, context):
                        found, held = sched.take("child", child_context)
                        rows = unwrap(held) if found else child.fetch_all(child_context)
                        out.extend(("child", row) for row in rows)
            finally:
                pages.close()
    finally:
        sched.shutdown()
    return out, api


def expected() -> list[tuple[str, dict[str, Any]]]:
    """The same records worked out from the source directly, one request at a time."""
    out = []
    for tenant in TENANTS:
        for k in range(PARTS):
            for thing in serve(f"/{tenant}/things", {"part": k}):
                record = {**thing, "tenant": tenant, **serve(f"/{tenant}/thing/{thing['id']}", {})}
                out.append(("things", record))
                children = serve(f"/things/{thing['id']}/children", {})
                out.extend(("child", {**row, "parent_id": thing["id"]}) for row in children)
    return out


def test_concurrency_one_and_sixteen_give_the_same_records_in_the_same_order():
    one, api_one = run_bounded(lambda: sync(1))
    sixteen, api_sixteen = run_bounded(lambda: sync(16))
    assert api_one.in_flight.most == 1
    # Otherwise this would compare two sequential runs.
    assert 1 < api_sixteen.in_flight.most <= 16
    assert one == expected()
    assert sixteen == one
