"""The pipeline benchmark's split of a job's time: the process poller names each process by
what it runs, including a child that Meltano has forked but not yet exec'ed (it shows Meltano's
command line first), and each tap's block is paired with its own loader process."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.pipeline import JobRun, Proc, TreePoller

# A stand-in for Meltano (its argv[0] is "meltano") that forks a child, keeps it un-exec'ed
# for 0.4 s, then execs it as "tap-segment" (argv[0] of a short sleep).
FORKING_PARENT = """
import os, time
child = os.fork()
if child == 0:
    time.sleep(0.4)
    os.execvp("sleep", ["tap-segment", "0.6"])
os.waitpid(child, 0)
"""


def test_a_forked_child_is_named_by_what_it_execs() -> None:
    started = time.monotonic()
    proc = subprocess.Popen(["meltano", "-c", FORKING_PARENT], executable=sys.executable)
    with TreePoller(proc.pid, started) as poller:
        assert proc.wait(timeout=10) == 0
    roles = sorted(p.role for p in poller.procs.values())
    assert roles == ["meltano", "tap-segment"]
    (tap,) = (p for p in poller.procs.values() if p.role == "tap-segment")
    # Its span starts at the exec (0.4 s after the fork at the earliest), not at the fork.
    assert tap.start >= 0.4


def test_each_block_is_its_tap_with_the_loader_beside_it() -> None:
    """Meltano's order: per block a discovery, then tap and target together; then dbt."""
    run = JobRun(
        "first run",
        100.0,
        [
            Proc(1, "meltano", 0.0, 100.0),
            Proc(2, "tap-segment", 1.0, 2.0),  # --discover
            Proc(3, "tap-segment", 2.5, 40.0),
            Proc(4, "target-duckdb", 2.4, 41.0),
            Proc(5, "tap-fivetran", 42.0, 43.0),
            Proc(6, "tap-fivetran", 43.5, 80.0),
            Proc(7, "target-duckdb", 43.4, 82.0),
            Proc(8, "tap-hr-roster", 83.0, 83.5),
            Proc(9, "tap-hr-roster", 84.0, 84.5),
            Proc(10, "target-duckdb", 83.9, 85.0),
            Proc(11, "dbt", 86.0, 99.0),
        ],
    )
    assert run.extract_load("tap-segment", "target-duckdb") == 40.0
    assert run.extract_load("tap-fivetran", "target-duckdb") == 40.0
    assert run.extract_load("tap-hr-roster", "target-duckdb") == 2.0
    assert run.dbt() == 13.0
