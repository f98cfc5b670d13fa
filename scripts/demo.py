"""`make demo`: sandbox APIs -> Meltano (both taps) -> DuckDB, then one line per table.

Needs only Python, pip and make: Meltano is installed from PyPI into .venv-meltano and the plugins
into .meltano/ on first use. Re-running upserts on primary keys, so counts do not grow.
Set SANDBOX_PORT to serve the sandbox on a fixed port (default: any free port).
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import duckdb  # the [test] extra pins duckdb==1.0.0, the version target-duckdb writes with

from taps_sandbox.base import SandboxOptions
from taps_sandbox.server import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent))
import meltano_tools as mt  # sits beside this script

JOB = "control-planes-to-duckdb"
LOG = mt.ROOT / "output" / "meltano-demo.log"
RUN_TIMEOUT_S = 900.0


def requested_port() -> int:
    """SANDBOX_PORT if set (and free), else 0 for any free port."""
    raw = os.environ.get("SANDBOX_PORT", "").strip()
    if not raw:
        return 0
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        sys.exit(f"SANDBOX_PORT={raw!r} is not a TCP port number")
    port = int(raw)
    if not mt.port_is_free(port):
        sys.exit(
            f"Port {port} on 127.0.0.1 (from SANDBOX_PORT) is busy: stop what listens there "
            "or unset SANDBOX_PORT to use a free port."
        )
    return port


def duckdb_path(env: dict[str, str]) -> Path:
    """The file target-duckdb writes, as Meltano resolves it (env vars may override)."""
    result = mt.meltano(
        "--environment=sandbox", "config", "print", "target-duckdb", env=env, timeout=120
    )
    start = result.stdout.find("{")
    return Path(json.loads(result.stdout[start:])["path"])


def table_counts(path: Path) -> list[tuple[str, int]]:
    """(schema.table, rows) for every table in the DuckDB file, sorted."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' ORDER BY 1, 2"
        ).fetchall()
        return [
            (
                f"{schema}.{name}",
                con.execute(f'SELECT count(*) FROM "{schema}"."{name}"').fetchone()[0],
            )
            for schema, name in tables
        ]


def main() -> int:
    """Set up, run the job against the sandbox, print the warehouse."""
    port = requested_port()
    started = time.monotonic()
    if not mt.PIN_FILE.exists():
        print(f"Installing {mt.MELTANO_SPEC} into {mt.VENV_DIR.name}/ (first run only) ...")
    mt.ensure_meltano()
    print("Installing Meltano plugins into .meltano/ (no-op when present) ...")
    mt.install_plugins(log_path=LOG)

    sandbox = Sandbox(SandboxOptions(), port=port)
    try:
        sandbox.start()
    except OSError as err:
        sys.exit(f"Cannot start the sandbox on 127.0.0.1:{port or 'any'}: {err}")
    try:
        actual = sandbox.port
        env = {"SANDBOX_PORT": str(actual)}
        print(f"Sandbox APIs on 127.0.0.1:{actual}; running `meltano run {JOB}` ...")
        mt.meltano(
            "--environment=sandbox", "run", JOB, env=env, timeout=RUN_TIMEOUT_S, log_path=LOG
        )
        path = duckdb_path(env)
    except mt.MeltanoError as err:
        print(f"{err}\n(full log: {LOG})", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()

    counts = table_counts(path)
    width = max((len(name) for name, _ in counts), default=0)
    for name, rows in counts:
        print(f"{name:<{width}}  {rows:>7} rows")
    print(f"{len(counts)} tables, {sum(r for _, r in counts)} rows in DuckDB file {path}")
    print(f"(Meltano log: {LOG}; took {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
