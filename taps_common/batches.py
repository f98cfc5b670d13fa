"""A batch of parent records made ready for the SDK: detail merges, and the requests of their
children, run in the pool ahead of the SDK (the scheduler pipelines batches).

``start_batch`` runs on the SDK's thread: it decides which children need requests and reads
their bookmarks (state is not thread-safe). The work it returns runs on a coordinator thread,
whose requests run in the pool. ``finish_batch`` runs on the SDK's thread again: it counts
answers and skips and leaves each child's records with the scheduler, where the child finds them.

Streams are read through ``stream_protocol.BatchedStream`` and ``ChildStream``; the worker pool,
the run's stats and where children's results are held are passed in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from taps_common.errors import ChildNotFoundError
from taps_common.fanout import FanoutPool, unwrap
from taps_common.run_stats import RunStats
from taps_common.stream_protocol import BatchedStream, ChildStream

Record = dict[str, Any]
Job = tuple[ChildStream, dict[str, Any]]
Hold = Callable[[str, Mapping[str, Any] | None, Any], None]  # Scheduler.hold


@dataclass
class BatchResult:
    """What one batch became: its records (details merged), skips, children's results."""

    records: list[Record]
    skipped: list[ChildNotFoundError] = field(default_factory=list)
    children: list[tuple[Job, Any]] = field(default_factory=list)


def start_batch(
    stream: BatchedStream,
    batch: list[Record],
    context: Mapping[str, Any] | None,
    *,
    pool: FanoutPool,
) -> Callable[[], BatchResult]:
    """Plan one batch on the SDK's thread; return the work to run off it, in ``pool``."""
    children = stream.children_to_prefetch(context)
    jobs_of: list[list[Job]] = [[] for _ in batch]
    if children and pool.max_concurrency > 1:
        for index, record in enumerate(batch):
            for child_ctx in stream.generate_child_contexts(record, dict(context or {})):
                if child_ctx is None:
                    continue
                for child in children:
                    child.remember_start(child_ctx)
                    jobs_of[index].append((child, dict(child_ctx)))

    def work() -> BatchResult:
        result = _merge_details(stream, batch, context, pool)
        jobs = [job for index in result.kept for job in jobs_of[index]]
        fetched = pool.map_ordered(lambda job: job[0].fetch_all(job[1]), jobs)
        return BatchResult(result.records, result.skipped, list(zip(jobs, fetched, strict=True)))

    return work


def finish_batch(
    stream: BatchedStream,
    result: BatchResult,
    context: Mapping[str, Any] | None,
    *,
    stats: RunStats,
    hold: Hold,
) -> list[Record]:
    """Back on the SDK's thread: count the detail GETs' answers and skips in ``stats`` (see
    ``ApiStream.settle``), ``hold`` children's records (with the scheduler) for the child."""
    if stream.detail_path:
        tenant = stream.tenant(context)
        stats.count_parent(stream.name, tenant, not_found=False, n=len(result.records))
        for exc in result.skipped:
            stream.note_child_skip(exc, tenant)
    for (child, ctx), fetched in result.children:
        hold(child.name, ctx, fetched)
    return result.records


@dataclass
class _Merged:
    records: list[Record]
    kept: list[int]  # batch positions of the records kept
    skipped: list[ChildNotFoundError]


def _merge_details(
    stream: BatchedStream,
    batch: list[Record],
    context: Mapping[str, Any] | None,
    pool: FanoutPool,
) -> _Merged:
    """Each record merged with its detail GET, concurrently; a vanished one (404) skipped."""
    if not stream.detail_path:
        return _Merged(batch, list(range(len(batch))), [])
    merged = pool.map_ordered(lambda rec: stream.merge_detail(rec, context), batch)
    out = _Merged([], [], [])
    for index, result in enumerate(merged):
        try:
            record = unwrap(result)
        except ChildNotFoundError as exc:
            out.skipped.append(exc)
            continue
        out.records.append(record)
        out.kept.append(index)
    return out
