"""`make demo`: evidence over time, against the local sandbox, in two runs.

Runs `meltano run control-planes-evidence` (both taps -> DuckDB -> dbt snapshots, staging and
the evidence marts), moves the sandbox's world one step (users added and removed, a role
changed, a key revoked, a connection deleted, a table enabled: taps_sandbox/world.py), runs
the job again and prints what the marts found between the two runs.

Needs only Python, pip and make: Meltano is installed from PyPI into .venv-meltano and the plugins
into .meltano/ on first use. Each demo starts from an empty output/sandbox.duckdb and its own
state folder (output/demo-state), so it tells the same story every time; `make report` reads
the file afterwards. Set SANDBOX_PORT to serve the sandbox on a fixed port (default: any free
port).
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb  # the [test] extra pins duckdb==1.0.0, the version target-duckdb writes with

from taps_sandbox.base import SandboxOptions
from taps_sandbox.server import Sandbox

sys.path.insert(0, str(Path(__file__).resolve().parent))
import meltano_tools as mt  # sits beside this script

JOB = "control-planes-evidence"
LOG = mt.ROOT / "output" / "meltano-demo.log"
STATE_DIR = mt.ROOT / "output" / "demo-state"
# The HR roster the demo loads unless EVIDENCE_HR_ROSTER names another: leavers whose sandbox
# accounts world step 1 removes (late, in time) or keeps (README "Leavers").
EXAMPLE_ROSTER = mt.ROOT / "examples" / "hr_roster.csv"
DEMO_ROSTER = mt.ROOT / "output" / "demo-hr-roster.csv"
RUN_TIMEOUT_S = 900.0
MAX_VALUE = 60  # long before/after values (JSON config) are cut to this for the terminal


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


def query(path: Path, sql: str) -> list[tuple[Any, ...]]:
    """Rows of one query on the DuckDB file, opened read-only (no run is writing then)."""
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(sql).fetchall()


def summary(path: Path) -> str:
    """Tables and rows the taps landed, and what the marts hold, in one line."""
    tables = query(
        path,
        "select table_schema, table_name from information_schema.tables "
        "where table_type = 'BASE TABLE' and table_schema in ('segment', 'fivetran')",
    )
    rows = sum(query(path, f'select count(*) from "{s}"."{t}"')[0][0] for s, t in tables)
    accounts = query(path, "select count(*) from evidence.access_review")[0][0]
    flows = query(path, "select count(*) from evidence.data_flows")[0][0]
    return (
        f"{len(tables)} tables, {rows} rows from the taps; evidence: {accounts} accounts in "
        f"access_review, {flows} edges in data_flows"
    )


def short(value: Any) -> str:
    """A value for the terminal: '-' for null, long text cut."""
    if value is None:
        return "-"
    text = str(value)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 3] + "..."


def table(title: str, header: list[str], rows: list[tuple[Any, ...]]) -> None:
    """Print rows under a title as aligned columns."""
    print(f"\n{title} ({len(rows)}):")
    if not rows:
        print("  (none)")
        return
    cells = [[short(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
    print(("  " + "  ".join(h.ljust(widths[i]) for i, h in enumerate(header))).rstrip())
    for row in cells:
        print(("  " + "  ".join(v.ljust(widths[i]) for i, v in enumerate(row))).rstrip())


def print_findings(path: Path) -> None:
    """What the marts found between the two runs."""
    table(
        "evidence.access_changes",
        ["system", "tenant", "account", "email", "change", "resource", "before", "after"],
        query(
            path,
            "select system, tenant_id, account_id, email, change, resource, before, after "
            "from evidence.access_changes order by system, change, account_id, resource",
        ),
    )
    table(
        "evidence.config_changes",
        ["system", "object", "id", "change", "field", "before", "after"],
        query(
            path,
            "select system, object_type, object_id, change, field, before, after "
            "from evidence.config_changes order by system, object_type, object_id",
        ),
    )
    table(
        "evidence.credentials_inventory, not active",
        ["system", "credential", "kind", "status", "created", "last used", "expires"],
        query(
            path,
            "select system, credential_id, kind, status, cast(created_at as date), "
            "cast(last_used_at as date), cast(expires_at as date) "
            "from evidence.credentials_inventory where status <> 'active' order by 1, 2",
        ),
    )
    table(
        "evidence.leaver_access (HR roster: EVIDENCE_HR_ROSTER)",
        ["email", "left", "system", "account", "status", "removed", "days", "outcome"],
        query(
            path,
            "select email, cast(terminated_at as date), system, account_id, status, "
            "cast(removed_at as date), days_to_removal, outcome from evidence.leaver_access "
            "order by outcome desc, email",
        ),
    )
    table(
        "evidence.data_flows, removed or changed",
        ["system", "from", "to", "status", "tables enabled"],
        query(
            path,
            "select f.system, f.from_type || ':' || f.from_id, f.to_type || ':' || f.to_id, "
            "f.status, f.tables_enabled_count from evidence.data_flows f "
            "where f.status = 'removed' or f.from_id in (select split_part(object_id, ':', 1) "
            "from evidence.config_changes where object_type = 'table') order by 1, 2",
        ),
    )


def dated_roster() -> Path:
    """The example roster with its scheduled leaver (dated in the future, so the file reads
    right on any day) dated now instead: the demo's second run then finds that account
    removed within the day, as a leaver removed in time. Only that date is replaced in the
    file's text, so nothing else of it is rewritten."""
    text = EXAMPLE_ROSTER.read_text(encoding="utf-8")
    now = datetime.now(UTC).replace(microsecond=0)
    for row in csv.DictReader(io.StringIO(text)):
        left = row["terminated_at"].strip()
        if left and datetime.fromisoformat(left.replace("Z", "+00:00")).date() > now.date():
            text = text.replace(f",{left}", f",{now.isoformat()}")
    DEMO_ROSTER.parent.mkdir(parents=True, exist_ok=True)
    DEMO_ROSTER.write_text(text, encoding="utf-8")
    return DEMO_ROSTER


def main() -> int:
    """Set up, run the job, change the world, run again, print the findings."""
    port = requested_port()
    started = time.monotonic()
    if not mt.PIN_FILE.exists():
        print(f"Installing {mt.MELTANO_SPEC} into {mt.VENV_DIR.name}/ (first run only) ...")
    mt.ensure_meltano()
    print("Installing Meltano plugins into .meltano/ (no-op when present) ...")
    mt.install_plugins(log_path=LOG)

    shutil.rmtree(STATE_DIR, ignore_errors=True)
    env = {"MELTANO_STATE_BACKEND_URI": f"file://{STATE_DIR}", "SANDBOX_PORT": "0"}
    path = duckdb_path(env)
    for stale in (path, path.with_name(path.name + ".wal")):
        stale.unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    env["TARGET_DUCKDB_PATH"] = str(path)  # the loader, dbt and the pack (meltano.yml)
    env["EVIDENCE_HR_ROSTER"] = os.environ.get("EVIDENCE_HR_ROSTER") or str(dated_roster())

    sandbox = Sandbox(SandboxOptions(), port=port)
    try:
        sandbox.start()
    except OSError as err:
        sys.exit(f"Cannot start the sandbox on 127.0.0.1:{port or 'any'}: {err}")
    try:
        env["SANDBOX_PORT"] = str(sandbox.port)
        print(f"Sandbox APIs on 127.0.0.1:{sandbox.port}; DuckDB file {path}")
        for run in (1, 2):
            if run == 2:
                world = sandbox.set_world_step(1)
                print("\nThe sandbox's world moves on (POST /_sandbox/world/1):")
                for change in world.changes():
                    print(f"  - {change}")
            print(f"\nRun {run} of 2: `meltano run {JOB}` ...")
            t0 = time.monotonic()
            mt.meltano(
                "--environment=sandbox", "run", JOB, env=env, timeout=RUN_TIMEOUT_S, log_path=LOG
            )
            print(f"  took {time.monotonic() - t0:.0f}s: {summary(path)}")
    except mt.MeltanoError as err:
        print(f"{err}\n(full log: {LOG})", file=sys.stderr)
        return 1
    finally:
        sandbox.stop()

    print("\nWhat the evidence marts found between the two runs:")
    print_findings(path)
    print(
        f'\nAsk your own questions: .venv/bin/python -c "import duckdb; print(duckdb.connect('
        f"'{path}', read_only=True).sql('select * from evidence.access_changes'))\""
    )
    print(f"(Meltano log: {LOG}; took {time.monotonic() - started:.0f}s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
