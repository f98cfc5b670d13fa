"""The run-wide scheduler: the same messages at any concurrency, and never more requests in
flight than ``max_concurrency`` for the whole run (counted by the sandbox as it answers)."""

from __future__ import annotations

import time

import pytest

from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import TapRun, discover, run_tap, select

START = "2026-10-15T00:00:00Z"
CONFIGS = {"tap-segment": segment_config, "tap-fivetran": fivetran_config}


def messages_per_stream(run: TapRun) -> dict[str, list[dict]]:
    """RECORDs in order per stream (the manifest aside: its run id is new each run)."""
    return {name: recs for name, recs in run.records.items() if name != "sync_runs"}


def states_without_manifest(run: TapRun) -> list[dict]:
    """Every STATE in order, less what is the run's own clock (manifest, signpost)."""
    out = []
    for state in run.states:
        bookmarks = {k: v for k, v in state.get("bookmarks", {}).items() if k != "sync_runs"}
        for bookmark in bookmarks.values():  # the SDK's signpost: the run's start instant
            bookmark.pop("replication_key_signpost", None)
        out.append(bookmarks)
    return out


@pytest.mark.parametrize("tap", sorted(CONFIGS))
def test_one_and_sixteen_emit_the_same_messages(tap, make_sandbox):
    # A fixed sandbox clock: a sync that finishes between the two runs would differ otherwise.
    sb = make_sandbox(latency_ms=2, clock_anchor=time.time())
    config = CONFIGS[tap]
    catalog = select(discover(tap, config(sb)), "all")
    runs = [
        run_tap(tap, config(sb, max_concurrency=n, start_date=START), catalog=catalog)
        for n in (1, 16)
    ]
    for run in runs:
        assert run.returncode == 0, run.stderr[-3000:]
    one, sixteen = runs
    assert messages_per_stream(one) == messages_per_stream(sixteen)
    # STATE only ever follows the records it covers, so the same sequence in both runs.
    assert states_without_manifest(one) == states_without_manifest(sixteen)


@pytest.mark.parametrize("tap", sorted(CONFIGS))
@pytest.mark.parametrize("concurrency", [1, 4])
def test_never_more_requests_in_flight_than_max_concurrency(tap, concurrency, make_sandbox):
    sb = make_sandbox(latency_ms=15)
    run = run_tap(tap, CONFIGS[tap](sb, max_concurrency=concurrency, start_date=START))
    assert run.returncode == 0, run.stderr[-3000:]
    assert sb.max_in_flight <= concurrency, "read-ahead and workers share the run's slots"
    if concurrency > 1:
        assert sb.max_in_flight == concurrency, "the slots are used"
