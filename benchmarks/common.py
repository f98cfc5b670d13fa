"""What the tap benchmark and the pipeline benchmark share: paths, tap settings, one measured
subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taps_sandbox.base import (
    FIVETRAN_API_KEY,
    FIVETRAN_API_SECRET,
    SEGMENT_TOKEN,
)
from taps_sandbox.server import Sandbox

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RUN_TIMEOUT_S = 1800
# The sandbox's audit trail spans the last 60 days: start just before it.
START_DATE = (datetime.now(UTC) - timedelta(days=61)).strftime("%Y-%m-%dT00:00:00Z")


def tap_config(tap: str, sandbox: Sandbox, concurrency: int, max_rps: float) -> dict:
    """Default streams, default page size, the given concurrency."""
    common = {"max_concurrency": concurrency, "start_date": START_DATE, "request_timeout": 120}
    if max_rps:
        common["max_requests_per_second"] = max_rps
    if tap == "segment":
        return {"token": SEGMENT_TOKEN, "api_url": sandbox.segment_url, **common}
    return {
        "api_key": FIVETRAN_API_KEY,
        "api_secret": FIVETRAN_API_SECRET,
        "api_url": sandbox.fivetran_url,
        **common,
    }


def measure(
    cmd: list[str], *, env: Mapping[str, str] | None = None, keep_stdout: bool = True
) -> tuple[bytes, float, float]:
    """Run ``cmd`` in a wrapper process so its peak RSS is its own; return stdout (empty when
    not kept: it goes to /dev/null), wall seconds, peak RSS in MB."""
    sink = "sys.stdout.buffer" if keep_stdout else "subprocess.DEVNULL"
    wrapper = (
        "import resource, subprocess, sys, time\n"
        "t = time.monotonic()\n"
        f"p = subprocess.run(sys.argv[1:], stdout={sink}, stderr=subprocess.PIPE)\n"
        "w = time.monotonic() - t\n"
        "r = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "sys.stderr.buffer.write(p.stderr[-3000:] if p.returncode else b'')\n"
        "sys.stderr.write(f'\\n{p.returncode} {w} {r}')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", wrapper, *cmd],
        capture_output=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
        env=dict(env) if env is not None else None,
    )
    detail, _, figures = proc.stderr.decode(errors="replace").rpartition("\n")
    code, wall, rss_kb = figures.split()
    if int(code) != 0:
        raise SystemExit(f"{Path(cmd[0]).name} failed (exit {code}):\n{detail}")
    return proc.stdout, float(wall), int(rss_kb) / 1024
