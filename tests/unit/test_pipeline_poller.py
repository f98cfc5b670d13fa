"""The pipeline benchmark's process poller names each process by what it runs, including a
child that Meltano has forked but not yet exec'ed (it shows Meltano's command line first)."""

from __future__ import annotations

import subprocess
import sys
import time

from benchmarks.pipeline import TreePoller

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
