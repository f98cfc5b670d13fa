"""The whole evidence job, measured as a user runs it: each tap alone, then Meltano's job.

Not part of the test suite (`python benchmarks/run.py --pipeline`, also in `make benchmark`).
One sandbox (large size, 100 ms added latency by default) serves every run. Per warehouse
(DuckDB, PostgreSQL) it runs `meltano run control-planes-evidence` (or `-postgres`) twice with
nothing changed in between (the daily case), then the evidence pack, and prints:

- each tap alone to /dev/null (its console script, the settings the job gives it);
- per run of the job: its wall time, the extract+load of each tap (the HR roster's too), dbt
  build and Meltano's own share, CPU seconds and peak RSS of Meltano and of every process it
  starts, all read off the process tree (polled every 50 ms);
- the job's wall divided by the two taps' wall alone (goal <= 1.3), and the second run's wall
  against the first (goal: no slower).

Meltano's log of each warehouse's runs is kept in output/pipeline-<warehouse>.log.

Every process is bounded by a timeout; every address is 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.common import BIN, ROOT, measure, tap_config
from scripts import meltano_tools as mt
from taps_sandbox.base import SandboxOptions
from taps_sandbox.server import Sandbox
from tests import pg_server

JOB_TIMEOUT_S = 1800
POLL_S = 0.05
JOB_GOAL = 1.3
TICKS = os.sysconf("SC_CLK_TCK")
# What a process is called in the tables: the first of these names its command line holds.
ROLES = (
    "tap-segment",
    "tap-fivetran",
    "tap-hr-roster",
    "target-duckdb",
    "target-postgres",
    "dbt",
    "meltano",
)


@dataclass
class Proc:
    """One process Meltano started, as the poller saw it."""

    pid: int
    role: str
    start: float
    end: float
    peak_kb: int = 0
    cpu_s: float = 0.0  # user + system time, as last seen


@dataclass
class JobRun:
    """One `meltano run` of the evidence job."""

    label: str
    wall: float
    procs: list[Proc] = field(default_factory=list)

    def span(self, role: str) -> tuple[float, float] | None:
        """From the first process of ``role`` starting to the last one ending (a tap's
        catalog discovery, then its sync)."""
        found = [(p.start, p.end) for p in self.procs if p.role == role]
        if not found:
            return None
        return min(s for s, _ in found), max(e for _, e in found)

    def extract_load(self, tap: str, loader: str) -> float:
        """Wall of one tap's task: from its tap (discovery included) or target starting to
        both having ended (the target is the loader process that ran alongside the tap the
        longest)."""
        tap_span = self.span(tap)
        targets = [(p.start, p.end) for p in self.procs if p.role == loader]
        if tap_span is None or not targets:
            return float("nan")

        def overlap(span: tuple[float, float]) -> float:
            return min(span[1], tap_span[1]) - max(span[0], tap_span[0])

        target_span = max(targets, key=overlap)
        return max(tap_span[1], target_span[1]) - min(tap_span[0], target_span[0])

    def dbt(self) -> float:
        """Wall of dbt build: the first dbt process's start to the last one's end."""
        return float("nan") if (span := self.span("dbt")) is None else span[1] - span[0]

    def cpu(self, role: str) -> float:
        """CPU seconds of this role's processes (as last sampled)."""
        return sum(p.cpu_s for p in self.procs if p.role == role)

    def peak_mb(self, role: str) -> float:
        """Largest peak RSS among this role's processes."""
        peaks = [p.peak_kb for p in self.procs if p.role == role]
        return max(peaks, default=0) / 1024


def role_of(cmdline: list[str]) -> str | None:
    """Which part of the pipeline a command line is (None: not one we report)."""
    for part in cmdline[:3]:
        name = Path(part).name
        for role in ROLES:
            if name == role or name.startswith(role + "_") or name == f"{role}_invoker":
                return role
    return None


def _children(pid: int) -> list[int]:
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        out: list[int] = []
        for task in tasks:
            raw = (task / "children").read_text().split()
            out.extend(int(c) for c in raw)
        return out
    except OSError:
        return []


def _peak_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _stat(pid: int) -> list[str]:
    """/proc/PID/stat's fields after the command name (state is [0], starttime [19])."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def _cpu_seconds(fields: list[str]) -> float:
    return (int(fields[11]) + int(fields[12])) / TICKS if fields else 0.0


def _identity(pid: int, fields: list[str]) -> tuple[int, str]:
    """A pid with its start time: pids wrap (pid_max can be 32768), and a job starts thousands
    of processes, so a tap can get the pid of an earlier, ended discovery run."""
    return pid, fields[19] if fields else ""


def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return [p.decode(errors="replace") for p in raw.split(b"\0") if p]


class TreePoller:
    """Samples the process tree under one pid: when each process was seen, its peak RSS.

    VmHWM only grows, so the last sample before a process ends is within one poll of its
    peak; start and end are accurate to one poll (50 ms).
    """

    def __init__(self, root: int, started: float) -> None:
        self.root, self.started = root, started
        self.procs: dict[tuple[int, str], Proc] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> TreePoller:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic() - self.started
            todo, seen = [self.root], set()
            while todo:
                pid = todo.pop()
                if pid in seen:
                    continue
                seen.add(pid)
                todo.extend(_children(pid))
                fields = _stat(pid)
                key = _identity(pid, fields)
                proc = self.procs.get(key)
                if proc is not None and proc.role == "meltano":
                    # Meltano forks, then execs the plugin: a child seen in between shows
                    # Meltano's command line, so a "meltano" process is looked at again.
                    cmdline = _cmdline(pid)
                    if cmdline and role_of(cmdline) != "meltano":
                        del self.procs[key]
                        proc = None
                if proc is None:
                    role = role_of(_cmdline(pid))
                    if role is None:
                        continue
                    proc = self.procs[key] = Proc(pid, role, now, now)
                proc.end = now
                proc.peak_kb = max(proc.peak_kb, _peak_kb(pid))
                proc.cpu_s = max(proc.cpu_s, _cpu_seconds(fields))
            self._stop.wait(POLL_S)


def run_job(job: str, env: dict[str, str], label: str, log: Path) -> JobRun:
    """One `meltano run JOB`, its process tree polled; fails loudly if the job fails."""
    cmd = [str(mt.meltano_executable()), "--environment=sandbox", "run", job]
    started = time.monotonic()
    with log.open("a") as out:
        proc = subprocess.Popen(
            cmd,
            cwd=ROOT,
            env=mt.clean_env(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        with TreePoller(proc.pid, started) as poller:
            try:
                code = proc.wait(timeout=JOB_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, 9)
                raise SystemExit(f"{job} timed out after {JOB_TIMEOUT_S}s (log: {log})") from None
    wall = time.monotonic() - started
    if code != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"{job} exited {code}; the end of its log:\n{tail}")
    return JobRun(label, wall, list(poller.procs.values()))


def run_pack(args: list[str], env: dict[str, str], out_dir: Path) -> tuple[float, float]:
    """The evidence pack from the warehouse the job filled: wall and peak RSS."""
    cmd = [str(BIN / "evidence-pack"), *args, "--out", str(out_dir)]
    _, wall, rss = measure(cmd, env={**os.environ, **env})
    return wall, rss


def taps_alone(sandbox: Sandbox, concurrency: int, start_date: str) -> dict[str, tuple]:
    """Each tap once, to /dev/null: wall and peak RSS."""
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        for tap in ("segment", "fivetran"):
            config = Path(tmp, f"{tap}.json")
            settings = tap_config(tap, sandbox, concurrency, 0)
            settings["start_date"] = start_date
            config.write_text(json.dumps(settings))
            _, wall, rss = measure([str(BIN / f"tap-{tap}"), "--config", str(config)])
            out[tap] = (wall, rss)
    return out


def job_env(
    sandbox: Sandbox, tmp: Path, concurrency: int, start_date: str, pg: Any
) -> dict[str, str]:
    """Settings for the job: the sandbox, the tap settings the taps ran alone with, and a
    state, Meltano database and warehouse of its own."""
    env = {
        "SANDBOX_PORT": str(sandbox.port),
        "MELTANO_STATE_BACKEND_URI": f"file://{tmp}/state",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",
        "TARGET_DUCKDB_PATH": str(tmp / "warehouse.duckdb"),
        "DBT_TARGET_PATH": str(tmp / "dbt-target"),
        "DBT_LOG_PATH": str(tmp / "dbt-logs"),
    }
    for tap in ("TAP_SEGMENT", "TAP_FIVETRAN"):
        env[f"{tap}_MAX_CONCURRENCY"] = str(concurrency)
        env[f"{tap}_START_DATE"] = start_date
        env[f"{tap}_REQUEST_TIMEOUT"] = "120"
    if pg is not None:
        # dbt-postgres reads the loader's settings too (meltano.yml: one warehouse).
        env["TARGET_POSTGRES_HOST"] = pg.host
        env["TARGET_POSTGRES_PORT"] = str(pg.port)
        env["TARGET_POSTGRES_USER"] = pg.user
        env["TARGET_POSTGRES_PASSWORD"] = "unused-trust-auth"  # the target insists on one
        env["TARGET_POSTGRES_DATABASE"] = pg.database
    return env


def pipeline(
    size: str, latency_ms: float, concurrency: int, warehouses: list[str], anchor: float
) -> list[str]:
    """Measure and print; return PASS/FAIL verdict lines."""
    start_date = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() - 61 * 86400))
    mt.ensure_meltano()
    mt.install_plugins()
    verdicts: list[str] = []
    options = SandboxOptions(size=size, latency_ms=latency_ms, clock_anchor=anchor)
    with Sandbox(options) as sandbox:
        alone = taps_alone(sandbox, concurrency, start_date)
        taps_wall = alone["segment"][0] + alone["fivetran"][0]
        print(f"\npipeline: sandbox {size}, {latency_ms:.0f} ms latency, concurrency {concurrency}")
        for tap, (wall, rss) in alone.items():
            print(f"  tap-{tap} alone to /dev/null: {wall:6.1f} s, peak RSS {rss:5.0f} MB")
        print(f"  both taps alone: {taps_wall:6.1f} s")
        for warehouse in warehouses:
            verdicts += measure_warehouse(warehouse, sandbox, concurrency, start_date, taps_wall)
    return verdicts


def measure_warehouse(
    warehouse: str, sandbox: Sandbox, concurrency: int, start_date: str, taps_wall: float
) -> list[str]:
    """Two runs of the evidence job into one warehouse, then the pack; print and judge."""
    loader = "target-duckdb" if warehouse == "duckdb" else "target-postgres"
    job = "control-planes-evidence" + ("" if warehouse == "duckdb" else "-postgres")
    pg = pg_server.start(mt.free_port()) if warehouse == "postgres" else None
    try:
        with tempfile.TemporaryDirectory(prefix=f"pipeline-{warehouse}-") as raw:
            tmp = Path(raw)
            env = job_env(sandbox, tmp, concurrency, start_date, pg)
            log = ROOT / "output" / f"pipeline-{warehouse}.log"  # kept: where the time went
            log.unlink(missing_ok=True)
            runs = [run_job(job, env, label, log) for label in ("first run", "second run")]
            if pg is None:
                pack_args = ["--duckdb", env["TARGET_DUCKDB_PATH"]]
            else:
                pack_args = ["--pg-host", pg.host, "--pg-port", str(pg.port)]
                pack_args += ["--pg-user", pg.user, "--pg-database", pg.database]
            pack_wall, pack_rss = run_pack(pack_args, {}, tmp / "pack")
            return report(
                warehouse, loader, runs, taps_wall=taps_wall, pack_wall=pack_wall, pack_rss=pack_rss
            )
    finally:
        if pg is not None:
            pg.stop()


def report(
    warehouse: str,
    loader: str,
    runs: list[JobRun],
    *,
    taps_wall: float,
    pack_wall: float,
    pack_rss: float,
) -> list[str]:
    """The per-phase table of one warehouse and its verdicts."""
    print(f"\n  {warehouse}: `meltano run` of the evidence job")
    print(
        "  | run | job wall | job / taps alone | segment E+L | fivetran E+L | HR roster E+L "
        "| dbt build | Meltano's own |"
    )
    print("  |---|---|---|---|---|---|---|---|")
    for run in runs:
        seg, fiv, hr, dbt = (
            run.extract_load("tap-segment", loader),
            run.extract_load("tap-fivetran", loader),
            run.extract_load("tap-hr-roster", loader),
            run.dbt(),
        )
        print(
            f"  | {run.label} | {run.wall:.1f} s | {run.wall / taps_wall:.2f} | {seg:.1f} s "
            f"| {fiv:.1f} s | {hr:.1f} s | {dbt:.1f} s | {run.wall - seg - fiv - hr - dbt:.1f} s |"
        )
    roles = ("meltano", "tap-segment", "tap-fivetran", "tap-hr-roster", loader, "dbt")
    for run in runs:
        cpu = ", ".join(f"{role} {run.cpu(role):.1f}" for role in roles)
        print(f"  CPU seconds, {run.label}: {cpu}")
        peaks = ", ".join(f"{role} {run.peak_mb(role):.0f}" for role in roles)
        print(f"  peak RSS MB, {run.label}: {peaks}")
    print(f"  evidence pack: {pack_wall:.1f} s, peak RSS {pack_rss:.0f} MB")
    first, second = runs
    ratio = first.wall / taps_wall
    return [
        f"{'PASS' if ratio <= JOB_GOAL else 'FAIL'} {warehouse}: evidence job {first.wall:.1f} s"
        f" = {ratio:.2f} x both taps alone {taps_wall:.1f} s (goal <= {JOB_GOAL})",
        f"{'PASS' if second.wall <= first.wall * 1.05 else 'FAIL'} {warehouse}: unchanged second"
        f" run {second.wall:.1f} s vs first {first.wall:.1f} s (goal: no slower, 5% noise)",
    ]
