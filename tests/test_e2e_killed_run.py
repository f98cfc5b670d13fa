"""End to end: a run killed at any moment loses nothing and marks nothing removed.

The real evidence job (``meltano run control-planes-evidence``: both taps -> DuckDB -> dbt build)
runs once cleanly, the world adds audit events, then a second run is killed: the tap, found
among Meltano's children by its executable's name, gets SIGKILL while it fans out over its
parents (the sandbox answers slowly, so that moment is wide). dbt's snapshots and models built
on what the killed run left, then the next scheduled run of the whole job, must find every
record a clean run emits in the warehouse, no removal or revocation the world did not make, and
no ``complete`` manifest row from the killed run (it never wrote one: the manifest is the last
message).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from taps_sandbox.base import SENTINEL, SandboxOptions
from taps_sandbox.server import Sandbox
from tests.test_e2e_evidence import (  # noqa: F401 (env: fixture)
    Warehouse,
    access_changes,
    config_changes,
    dbt,
    env,
    review,
)
from tests.test_e2e_meltano import (  # noqa: F401 (fixture)
    column_name,
    duckdb_tables,
    expected_records,
    key_of,
    meltano_installed,
    mt,
)

pytestmark = pytest.mark.e2e

RUN_TIMEOUT_S = 600.0
KILL_WINDOW_S = 300.0  # longest wait for the tap to reach its fan-out
SLOW_MS = 400.0  # sandbox latency of the killed run: its fan-out takes seconds, not ms
NEW_AUDIT_EVENTS = 5
# Per tap: the schema it loads into and a fan-out it is killed in (child requests per parent).
FANOUT = {
    "tap-segment": ("segment", re.compile(r"^/destinations?/[^/]+/(filters|subscriptions)$")),
    "tap-fivetran": ("fivetran", re.compile(r"^/v1/connections/[^/]+/(schemas|certificates)$")),
}
# The killed run reads 3 parents a page, so its fan-out is batches of 3 parents (6 requests),
# the next fetched while one is written, the one after only once the first is written; it is
# killed once 4 fan-out requests were answered: well before the last of them is sent.
SMALL_PAGES = {"TAP_SEGMENT_PAGE_SIZE": "3", "TAP_FIVETRAN_PAGE_SIZE": "3"}
KILL_AFTER_ANSWERS = 4


# --------------------------------------------------------------------------- processes


def descendants(pid: int) -> list[int]:
    """Every process below ``pid``, read from /proc (children first, then theirs)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # it ended meanwhile
        fields = stat.rsplit(")", 1)[-1].split()
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    out: list[int] = []
    todo = list(children.get(pid, []))
    while todo:
        child = todo.pop(0)
        out.append(child)
        todo.extend(children.get(child, []))
    return out


def syncing_tap(meltano_pid: int, tap: str) -> int | None:
    """The pid of ``tap`` syncing under Meltano (its console script's name; not discovery)."""
    for pid in descendants(meltano_pid):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if any(Path(arg).name == tap for arg in argv[:2]) and "--discover" not in argv:
            return pid
    return None


@contextmanager
def meltano_job(
    environ: dict[str, str], sandbox: Sandbox, log: Path, *args: str
) -> Iterator[subprocess.Popen]:
    """``meltano run ARGS`` started in its own process group, its output to ``log`` (a pipe
    nobody reads while the test waits would stall Meltano); the group is ended on exit."""
    with log.open("w") as out:
        proc = subprocess.Popen(
            [str(mt.meltano_executable()), "--environment=sandbox", "run", *args],
            cwd=mt.ROOT,
            env=mt.clean_env({**environ, "SANDBOX_PORT": str(sandbox.port)}),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)


def kill_in_fanout(proc: subprocess.Popen, sandbox: Sandbox, tap: str) -> int:
    """SIGKILL ``tap`` once some of its fan-out requests were answered and not all were sent;
    return how many the tap had sent by then."""
    api, fanout = FANOUT[tap]
    deadline = time.monotonic() + KILL_WINDOW_S
    pid = None
    while time.monotonic() < deadline and proc.poll() is None:
        asked = [r for r in sandbox.requests(api) if fanout.match(r["path"])]
        answered = sum(1 for r in asked if r["status"] == 200)
        if pid is None and asked:  # the sync has begun its fan-out: its process is there
            pid = syncing_tap(proc.pid, tap)
        if pid is not None and answered >= KILL_AFTER_ANSWERS:
            os.kill(pid, signal.SIGKILL)
            return len(asked)
        time.sleep(0.02)
    pytest.fail(f"{tap} never reached its fan-out under Meltano (exit {proc.poll()})")


# --------------------------------------------------------------------------- the warehouse


def lost_records(path: Path, expected: dict[tuple[str, str], Any]) -> dict[str, list[tuple]]:
    """Per table, keys of records a clean run emits that the warehouse does not hold."""
    tables = duckdb_tables(path)
    lost: dict[str, list[tuple]] = {}
    for (schema, stream), emitted in expected.items():
        if stream == "sync_runs":  # one per run, new each time: counted separately
            continue
        props = emitted.schema["properties"]
        want = {key_of(r, props, emitted.key, empty_is_null=True) for r in emitted.records}
        types, rows = tables.get((schema, stream), ({}, []))
        columns = {column_name(c): c for c in types}
        have = {
            key_of(
                {k: row.get(columns.get(column_name(k), k)) for k in emitted.key},
                props,
                emitted.key,
                empty_is_null=True,
            )
            for row in rows
        }
        if want - have:
            lost[f"{schema}.{stream}"] = sorted(want - have, key=repr)[:5]
    return lost


def manifests(wh: Warehouse, schema: str) -> list[tuple[str, str]]:
    """(run_id, status) of every run manifest loaded for one tap."""
    return [(str(r), str(s)) for r, s in wh.rows(f"select run_id, status from {schema}.sync_runs")]


def removals(wh: Warehouse) -> set[tuple[Any, ...]]:
    """Access removals/revocations and config removals the marts report."""
    gone = {r for r in access_changes(wh) if r[3] in ("removed", "revoked")}
    return gone | {r for r in config_changes(wh) if r[3] == "removed"}


# --------------------------------------------------------------------------- the test


@pytest.mark.parametrize("tap", sorted(FANOUT))
def test_killed_run_loses_nothing_and_removes_nothing(
    tap: str,
    env: dict[str, str],  # noqa: F811
    tmp_path: Path,
) -> None:
    schema = FANOUT[tap][0]
    wh = Warehouse(duckdb_path=Path(env["TARGET_DUCKDB_PATH"]))
    # Every sandbox of this test serves one world: same clock anchor, same audit trail.
    world = SandboxOptions(clock_anchor=time.time())

    with Sandbox(world, port=0) as clean:
        result = mt.meltano(
            "--environment=sandbox",
            "run",
            "control-planes-evidence",
            env={**env, "SANDBOX_PORT": str(clean.port)},
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, result.tail()
    assert removals(wh) == set() and access_changes(wh) == set(), "the first run is the baseline"
    first = review(wh)
    runs_before = manifests(wh, schema)
    assert [s for _, s in runs_before] == ["complete"]

    # The world adds audit events; the next run is killed in the middle of a fan-out.
    with Sandbox(replace(world, latency_ms=SLOW_MS), port=0) as slow:
        slow.apis["segment"].add_audit_events(NEW_AUDIT_EVENTS)
        log = tmp_path / "killed-run.log"
        with meltano_job({**env, **SMALL_PAGES}, slow, log, "control-planes-evidence") as proc:
            sent = kill_in_fanout(proc, slow, tap)
            proc.wait(timeout=RUN_TIMEOUT_S)
        assert proc.returncode != 0, "Meltano should report the killed extractor"
        api, fanout = FANOUT[tap]
        after = [r for r in slow.requests(api) if fanout.match(r["path"])]
        assert len(after) < len(fanout_parents(slow, tap)), "killed after its fan-out ended"
        assert sent <= len(after)
    output = log.read_text(errors="replace")
    assert SENTINEL not in output

    # dbt on what the killed run left (snapshots, then models, as a build makes them): nothing
    # looks removed. Data tests are left to the next run's build: the reconciliation test
    # compares the last complete run's manifest with rows, and the killed run upserted some.
    dbt(env, "dbt-duckdb", "snapshot")
    dbt(env, "dbt-duckdb", "run")
    assert removals(wh) == set()
    assert review(wh) == first
    runs_killed = manifests(wh, schema)
    new = [status for run, status in runs_killed if (run, status) not in runs_before]
    assert "complete" not in new, f"the killed run left a complete manifest: {new}"

    # The next scheduled run: whole again, still nothing removed, every record present.
    with Sandbox(world, port=0) as again:
        again.apis["segment"].add_audit_events(NEW_AUDIT_EVENTS)
        result = mt.meltano(
            "--environment=sandbox",
            "run",
            "control-planes-evidence",
            env={**env, "SANDBOX_PORT": str(again.port)},
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
        assert result.returncode == 0, result.tail()
        clean_records = expected_records({**env, "SANDBOX_PORT": str(again.port)})
    assert lost_records(wh.duckdb_path, clean_records) == {}
    assert removals(wh) == set()
    assert access_changes(wh) == set() and config_changes(wh) == set()
    assert review(wh) == first
    latest = [s for r, s in manifests(wh, schema) if (r, s) not in runs_killed]
    assert latest == ["complete"], latest


def fanout_parents(sandbox: Sandbox, tap: str) -> list[str]:
    """Every fan-out request a whole run of ``tap`` sends (parents x child endpoints)."""
    if tap == "tap-segment":
        ids = [
            d["id"] for d in sandbox.apis["segment"].get("/destinations")["data"]["destinations"]
        ]
        return [f"{i}/{kind}" for i in ids for kind in ("filters", "subscriptions")]
    ids = sandbox.apis["fivetran"].expected_ids("connections")
    return [f"{i}/{kind}" for i in ids for kind in ("schemas", "certificates")]
