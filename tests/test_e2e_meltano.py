"""End to end: `meltano run` of both taps into DuckDB and a real PostgreSQL, against the sandbox.

What a user gets from meltano.yml: every stream's rows in the warehouse equal the distinct
primary keys the tap emits (run directly with Meltano's own resolved config), a second run
upserts instead of duplicating, and incremental state survives between runs (audit_events reads
only from its bookmark). Meltano and its plugins install once into .venv-meltano/ and .meltano/
and are reused; state, warehouses and the system database of each test live in a temp dir.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pytest
import yaml

from taps_sandbox.base import SandboxOptions
from taps_sandbox.server import Sandbox
from tests import pg_server
from tests.tap_runner import default_selected, discover, run_tap

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
TAPS = {"tap-segment": "segment", "tap-fivetran": "fivetran"}  # tap -> load schema
RUN_TIMEOUT_S = 600.0
NEW_AUDIT_EVENTS = 5


def _load_meltano_tools() -> Any:
    """scripts/meltano_tools.py, the same installer and runner `make demo` uses."""
    spec = importlib.util.spec_from_file_location(
        "meltano_tools", ROOT / "scripts" / "meltano_tools.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["meltano_tools"] = module
    spec.loader.exec_module(module)
    return module


mt = _load_meltano_tools()


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def meltano_installed() -> None:
    """Pinned Meltano in .venv-meltano and the plugins in .meltano/ (no-op when present)."""
    try:
        mt.ensure_meltano(timeout=900)
        mt.install_plugins(timeout=900)
    except mt.MeltanoError as err:
        pytest.fail(f"Meltano setup failed: {err}")


@pytest.fixture(scope="session")
def postgres() -> Iterator[pg_server.PostgresServer]:
    """A real PostgreSQL server on a free loopback port for this session."""
    try:
        pg_server.find_bin_dir()
    except pg_server.PostgresUnavailable as err:
        pytest.fail(str(err))
    last: Exception | None = None
    for _ in range(3):  # the free port can be taken between probe and bind
        try:
            server = pg_server.start(mt.free_port())
            break
        except pg_server.PostgresUnavailable as err:
            last = err
    else:
        pytest.fail(f"PostgreSQL would not start: {last}")
    yield server
    server.stop()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    """A fresh sandbox per test: the tests add audit events to it."""
    sb = Sandbox(SandboxOptions(), port=0)
    sb.start()
    yield sb
    sb.stop()


@pytest.fixture
def meltano_env(sandbox: Sandbox, tmp_path: Path, meltano_installed: None) -> dict[str, str]:
    """Environment for `meltano --environment=sandbox ...`, isolated under tmp_path."""
    return {
        "SANDBOX_PORT": str(sandbox.port),
        "MELTANO_STATE_BACKEND_URI": f"file://{tmp_path}/state",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path}/meltano.db",
        "TARGET_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
        "TARGET_JSONL_DESTINATION_PATH": str(tmp_path),
    }


# --------------------------------------------------------------------------- helpers


def meltano_run(env: dict[str, str], *args: str) -> None:
    """`meltano --environment=sandbox run ARGS`, bounded; fail the test with Meltano's output."""
    try:
        mt.meltano("--environment=sandbox", "run", *args, env=env, timeout=RUN_TIMEOUT_S)
    except mt.MeltanoError as err:
        pytest.fail(str(err))


def meltano_config(env: dict[str, str], plugin: str) -> dict[str, Any]:
    """The config Meltano passes to ``plugin`` in the sandbox environment (secrets included)."""
    result = mt.meltano(
        "--environment=sandbox", "config", "--unsafe", "print", plugin, env=env, timeout=120
    )
    return json.loads(result.stdout[result.stdout.find("{") :])


def meltano_state(env: dict[str, str], tap: str, target: str) -> dict[str, Any]:
    """The stored state of ``tap`` -> ``target`` in the sandbox environment."""
    result = mt.meltano(
        "--environment=sandbox",
        "state",
        "get",
        f"sandbox:{tap}-to-{target}",
        env=env,
        timeout=120,
    )
    return json.loads(result.stdout[result.stdout.find("{") :])


def expected_keys(env: dict[str, str]) -> dict[tuple[str, str], int]:
    """(schema, stream) -> distinct primary keys, each tap run directly with Meltano's config."""
    expected: dict[tuple[str, str], int] = {}
    for tap, schema in TAPS.items():
        run = run_tap(tap, meltano_config(env, tap), timeout=RUN_TIMEOUT_S)
        assert run.returncode == 0, f"{tap} failed:\n{run.stderr[-3000:]}"
        for stream in run.schemas:
            expected[(schema, stream)] = len(set(run.keys(stream)))
    return expected


Counter = Callable[[], dict[tuple[str, str], int]]


def duckdb_counts(path: Path) -> dict[tuple[str, str], int]:
    """(schema, table) -> rows in the DuckDB file."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE'"
        ).fetchall()
        return {
            (s, t): con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
            for s, t in tables
        }


def postgres_counts(server: pg_server.PostgresServer) -> dict[tuple[str, str], int]:
    """(schema, table) -> rows in the PostgreSQL database (the taps' schemas only)."""
    with psycopg.connect(server.dsn, autocommit=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)",
            (list(TAPS.values()),),
        ).fetchall()
        return {
            (s, t): con.execute(f'SELECT count(*) FROM "{s}"."{t}"').fetchone()[0]
            for s, t in tables
        }


def assert_matches_tap(
    counts: dict[tuple[str, str], int], expected: dict[tuple[str, str], int]
) -> None:
    """Every emitted stream has a table with one row per distinct key, and nothing else."""
    for key, rows in expected.items():
        assert counts.get(key, 0) == rows, (
            f"{key[0]}.{key[1]}: {counts.get(key)} rows, tap emitted {rows} keys"
        )
    extra = sorted(set(counts) - set(expected))
    assert not extra, f"tables no tap stream explains: {extra}"
    assert sum(expected.values()) > 0


def check_pipeline(
    env: dict[str, str],
    sandbox: Sandbox,
    run: Callable[[], None],
    counts: Counter,
    touched_since: Callable[[datetime], int],
    target: str,
) -> None:
    """Run, compare with the taps, run again after new audit events, check upsert and state."""
    run()
    first = counts()
    assert_matches_tap(first, expected_keys(env))
    audit = ("segment", "audit_events")
    assert first.get(audit, 0) > NEW_AUDIT_EVENTS, "sandbox should serve audit events"

    state = meltano_state(env, "tap-segment", target)
    assert "audit_events" in json.dumps(state), f"no audit_events bookmark in state: {state}"

    sandbox.apis["segment"].add_audit_events(NEW_AUDIT_EVENTS)
    second_start = datetime.now(UTC)
    run()
    second = counts()
    want = dict(first)
    want[audit] = first[audit] + NEW_AUDIT_EVENTS
    changed = {
        k: (want.get(k), second.get(k))
        for k in set(want) | set(second)
        if want.get(k) != second.get(k)
    }
    assert not changed, f"second run changed counts (expected, got): {changed}"
    # Full re-read would re-load every audit event; the bookmark limits it to the new ones
    # plus the lookback window.
    touched = touched_since(second_start)
    assert NEW_AUDIT_EVENTS <= touched < second[audit], (
        f"second run reloaded {touched} of {second[audit]} audit events: state was not used"
    )


# --------------------------------------------------------------------------- tests


def test_select_lists_are_the_taps_defaults() -> None:
    """Meltano ignores selected-by-default, so meltano.yml must list exactly those streams."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    configs = {
        "tap-segment": {"token": "x"},
        "tap-fivetran": {"api_key": "x", "api_secret": "y"},
    }
    for plugin in project["plugins"]["extractors"]:
        name = plugin["name"]
        listed = {rule.removesuffix(".*") for rule in plugin["select"]}
        assert listed == default_selected(discover(name, configs[name])), name


def _kinds(prop: dict[str, Any]) -> set[str]:
    """Meltano kinds that fit a JSON-schema property of the tap's config."""
    types = prop.get("type", [])
    types = {types} if isinstance(types, str) else set(types) - {"null"}
    if prop.get("format") == "date-time":
        return {"date_iso8601"}
    by_type = {
        "string": {"string", "options"},
        "integer": {"integer"},
        "number": {"decimal"},
        "boolean": {"boolean"},
        "array": {"array"},
        "object": {"object"},
    }
    return set().union(*(by_type.get(t, set()) for t in types)) if types else {"object"}


def test_settings_match_about() -> None:
    """Every setting the tap accepts is declared (kind, label, description); secrets sensitive."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    for plugin in project["plugins"]["extractors"]:
        about = json.loads(
            mt.run_bounded(
                [Path(sys.executable).parent / plugin["executable"], "--about", "--format=json"],
                timeout=120,
            ).stdout
        )
        props = about["settings"]["properties"]
        declared = {s["name"]: s for s in plugin["settings"]}
        assert set(declared) == set(props), plugin["name"]
        for name, setting in declared.items():
            assert {"kind", "label", "description"} <= set(setting), (plugin["name"], name)
            assert setting["kind"] in _kinds(props[name]), (plugin["name"], name, setting["kind"])
            secret = bool(props[name].get("secret"))
            assert bool(setting.get("sensitive")) == (secret or name == "workspaces"), name


def test_meltano_to_duckdb(sandbox: Sandbox, meltano_env: dict[str, str]) -> None:
    """The combined job into DuckDB: counts match the taps, second run upserts, state kept."""
    path = Path(meltano_env["TARGET_DUCKDB_PATH"])

    def touched(since: datetime) -> int:
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(
                "SELECT count(*) FROM segment.audit_events WHERE _sdc_batched_at >= ?",
                [since.replace(tzinfo=None)],
            ).fetchone()[0]

    check_pipeline(
        meltano_env,
        sandbox,
        lambda: meltano_run(meltano_env, "control-planes-to-duckdb"),
        lambda: duckdb_counts(path),
        touched,
        "target-duckdb",
    )


def test_meltano_to_postgres(
    sandbox: Sandbox, meltano_env: dict[str, str], postgres: pg_server.PostgresServer
) -> None:
    """Both taps into a real PostgreSQL: same guarantees as DuckDB."""
    with psycopg.connect(postgres.dsn, autocommit=True) as con:
        for schema in TAPS.values():
            con.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    env = {
        **meltano_env,
        "TARGET_POSTGRES_HOST": postgres.host,
        "TARGET_POSTGRES_PORT": str(postgres.port),
        "TARGET_POSTGRES_USER": postgres.user,
        # The throw-away server trusts loopback; the target insists on some password.
        "TARGET_POSTGRES_PASSWORD": "unused-trust-auth",
        "TARGET_POSTGRES_DATABASE": postgres.database,
    }

    def touched(since: datetime) -> int:
        with psycopg.connect(postgres.dsn) as con:
            return con.execute(
                "SELECT count(*) FROM segment.audit_events WHERE _sdc_batched_at >= %s", (since,)
            ).fetchone()[0]

    check_pipeline(
        env,
        sandbox,
        lambda: meltano_run(
            env, "tap-segment", "target-postgres", "tap-fivetran", "target-postgres"
        ),
        lambda: postgres_counts(postgres),
        touched,
        "target-postgres",
    )
