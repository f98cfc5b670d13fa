"""End to end: `meltano run` of both taps into DuckDB and a real PostgreSQL, against the sandbox.

What a user gets from meltano.yml: every stream's table holds exactly the records the tap emits
(run directly with Meltano's own resolved config), value for value, typed as the schema says
(date-time columns are timestamps); a second run upserts instead of duplicating, and
incremental state survives between runs (audit_events reads only from its bookmark). Nothing
depends on the machine's time zone (target-duckdb writes local time into _sdc_batched_at).
Meltano and its plugins install once into .venv-meltano/ and .meltano/ and are reused; state,
warehouses and the system database of each test live in a temp dir.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import duckdb
import psycopg
import pytest
import yaml
from psycopg.rows import dict_row

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


MANIFEST = "sync_runs"  # one record per run, its own run id and times: counted, not compared


@dataclass
class Emitted:
    """One stream as the tap emitted it: its schema, key and records (the last per key)."""

    schema: dict[str, Any]
    key: list[str]
    records: list[dict[str, Any]]


def expected_records(env: dict[str, str]) -> dict[tuple[str, str], Emitted]:
    """(schema, stream) -> what each tap emits, run directly with Meltano's config."""
    expected: dict[tuple[str, str], Emitted] = {}
    for tap, schema in TAPS.items():
        run = run_tap(tap, meltano_config(env, tap), timeout=RUN_TIMEOUT_S)
        assert run.returncode == 0, f"{tap} failed:\n{run.stderr[-3000:]}"
        for stream, message in run.schemas.items():
            key = list(message["key_properties"])
            last = {tuple(r.get(k) for k in key): r for r in run.records.get(stream, [])}
            expected[(schema, stream)] = Emitted(message["schema"], key, list(last.values()))
    return expected


def postgres_stream_maps() -> dict[str, dict[str, Any]]:
    """The stream maps meltano.yml gives target-postgres (a column renamed, its key too)."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    [target] = [p for p in project["plugins"]["loaders"] if p["name"] == "target-postgres"]
    [setting] = [s for s in target["settings"] if s["name"] == "stream_maps"]
    return setting["value"]


def mapped(emitted: Emitted, stream_map: dict[str, Any] | None) -> Emitted:
    """``emitted`` as a target sees it after a stream map of renames and __NULL__ drops."""
    if not stream_map:
        return emitted
    schema = json.loads(json.dumps(emitted.schema))
    records = [dict(r) for r in emitted.records]
    key = list(stream_map.get("__key_properties__", emitted.key))
    for new, old in stream_map.items():
        if new.startswith("__") or old == "__NULL__":
            continue
        assert old in schema["properties"], f"stream map renames an unknown field {old}"
        schema["properties"][new] = schema["properties"][old]
        for record in records:
            if old in record:
                record[new] = record[old]
    for name, value in stream_map.items():
        if value == "__NULL__":
            schema["properties"].pop(name, None)
            for record in records:
                record.pop(name, None)
    return Emitted(schema, key, records)


def column_name(name: str) -> str:
    """A field and its column compare equal whatever case or separators the target uses
    (target-duckdb lowercases, target-postgres writes snake_case)."""
    return re.sub(r"[^a-z0-9]", "", name.lower())


def types_of(prop: dict[str, Any]) -> set[str]:
    kinds = prop.get("type", [])
    return {kinds} if isinstance(kinds, str) else set(kinds)


def as_instant(value: Any) -> datetime | None:
    """A timestamp (string or datetime) as an aware UTC datetime; naive means UTC (that is how
    target-duckdb stores an ISO string with an offset in a TIMESTAMP column)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def comparable(value: Any, prop: dict[str, Any], *, empty_is_null: bool) -> Any:
    """A record value or a loaded value in one form: JSON parsed, numbers as float, times as
    UTC instants, and (target-duckdb writes every '' as NULL) empty strings as None."""
    if isinstance(value, str) and ({"object", "array"} & types_of(prop)):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    if prop.get("format") == "date-time" and value not in (None, ""):
        return as_instant(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if value == "" and empty_is_null:
        return None
    if isinstance(value, (dict, list)):
        return json.loads(json.dumps(value), parse_float=float, parse_int=float)
    return value


def key_of(values: dict[str, Any], props: dict, key: list[str], empty_is_null: bool) -> tuple:
    """A row's or a record's primary key in comparable form."""
    return tuple(comparable(values.get(k), props[k], empty_is_null=empty_is_null) for k in key)


Table = tuple[dict[str, str], list[dict[str, Any]]]  # column -> type, rows


def duckdb_tables(path: Path) -> dict[tuple[str, str], Table]:
    """(schema, table) -> (column types, rows) of the DuckDB file."""
    out: dict[tuple[str, str], Table] = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema IN ('segment', 'fivetran')"
        ).fetchall()
        for schema, table in tables:
            types = dict(
                con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ?",
                    [schema, table],
                ).fetchall()
            )
            cursor = con.execute(f'SELECT * FROM "{schema}"."{table}"')
            names = [d[0] for d in cursor.description]
            rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            out[(schema, table)] = (types, rows)
    return out


def postgres_tables(server: pg_server.PostgresServer) -> dict[tuple[str, str], Table]:
    """(schema, table) -> (column types, rows) in PostgreSQL (the taps' schemas only)."""
    out: dict[tuple[str, str], Table] = {}
    with psycopg.connect(server.dsn, autocommit=True, row_factory=dict_row) as con:
        zone = ZoneInfo(con.execute("SHOW TimeZone").fetchone()["TimeZone"])
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_type = 'BASE TABLE' AND table_schema = ANY(%s)",
            (list(TAPS.values()),),
        ).fetchall()
        for found in tables:
            schema, table = found["table_schema"], found["table_name"]
            columns = con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = %s AND table_name = %s",
                (schema, table),
            ).fetchall()
            types = {c["column_name"]: c["data_type"] for c in columns}
            rows = [dict(r) for r in con.execute(f'SELECT * FROM "{schema}"."{table}"')]
            # target-postgres writes date-time into "timestamp without time zone", which
            # PostgreSQL converts to the session's TimeZone (the server's, from initdb's
            # environment): such a value means that zone's wall clock, not UTC.
            naive = [c for c, kind in types.items() if kind == "timestamp without time zone"]
            for row in rows:
                for column in naive:
                    if row[column] is not None:
                        row[column] = row[column].replace(tzinfo=zone)
            out[(schema, table)] = (types, rows)
    return out


@dataclass(frozen=True)
class Warehouse:
    """How one target is read and what it does to values."""

    name: str
    tables: Callable[[], dict[tuple[str, str], Table]]
    timestamp_types: frozenset[str]
    empty_is_null: bool
    stream_maps: dict[str, dict[str, Any]]


def assert_tables_hold_the_records(
    tables: dict[tuple[str, str], Table], expected: dict[tuple[str, str], Emitted], wh: Warehouse
) -> None:
    """Every emitted stream has a table holding its records, value for value, one row per key;
    date-time fields are timestamp columns; no table the taps do not explain."""
    assert sum(len(e.records) for e in expected.values()) > 0
    extra = sorted(set(tables) - set(expected))
    assert not extra, f"tables no tap stream explains: {extra}"
    problems: list[str] = []
    for where, raw in expected.items():
        emitted = mapped(raw, wh.stream_maps.get(where[1]))
        name = f"{where[0]}.{where[1]}"
        if where not in tables:
            if emitted.records:
                problems.append(f"{name}: no table for {len(emitted.records)} records")
            continue
        types, rows = tables[where]
        if where[1] == MANIFEST:
            continue  # counted in check_pipeline
        columns = {column_name(c): c for c in types}
        props = emitted.schema["properties"]
        lost = [f for f in props if column_name(f) not in columns]
        if lost:
            problems.append(f"{name}: fields without a column: {lost}")
            continue
        for field, prop in props.items():
            if prop.get("format") == "date-time":
                kind = types[columns[column_name(field)]].lower()
                if kind not in wh.timestamp_types:
                    problems.append(f"{name}.{field} is date-time but loaded as {kind}")

        loaded = {}
        for row in rows:
            values = {f: row[columns[column_name(f)]] for f in props}
            loaded[key_of(values, props, emitted.key, wh.empty_is_null)] = values
        if len(loaded) != len(rows):
            problems.append(f"{name}: {len(rows)} rows but {len(loaded)} distinct keys")
        wanted = {key_of(r, props, emitted.key, wh.empty_is_null): r for r in emitted.records}
        if set(wanted) != set(loaded):
            missing, surplus = set(wanted) - set(loaded), set(loaded) - set(wanted)
            problems.append(
                f"{name}: {len(missing)} keys missing, {len(surplus)} extra "
                f"(e.g. {sorted(map(str, missing))[:2]} / {sorted(map(str, surplus))[:2]})"
            )
            continue
        for key, record in wanted.items():
            for field, prop in props.items():
                want = comparable(record.get(field), prop, empty_is_null=wh.empty_is_null)
                got = comparable(loaded[key][field], prop, empty_is_null=wh.empty_is_null)
                if want != got:
                    problems.append(f"{name} {key}: {field} is {got!r}, the tap sent {want!r}")
                    break
    assert not problems, f"{wh.name}: " + "\n".join(problems[:20])


def newest_batch(tables: dict[tuple[str, str], Table]) -> Any:
    """The latest _sdc_batched_at of the audit events, in whatever zone the target wrote it."""
    _, rows = tables[("segment", "audit_events")]
    return max(row["_sdc_batched_at"] for row in rows)


def check_pipeline(
    env: dict[str, str], sandbox: Sandbox, run: Callable[[], None], wh: Warehouse, target: str
) -> None:
    """Run, compare with the taps, run again after new audit events, check upsert and state."""
    run()
    first = wh.tables()
    expected = expected_records(env)
    assert_tables_hold_the_records(first, expected, wh)
    audit = ("segment", "audit_events")
    assert len(first[audit][1]) > NEW_AUDIT_EVENTS, "sandbox should serve audit events"
    manifests = {k for k in expected if k[1] == MANIFEST}
    for where in manifests:
        assert len(first[where][1]) == 1, f"{where}: one manifest row per run"

    state = meltano_state(env, "tap-segment", target)
    assert "audit_events" in json.dumps(state), f"no audit_events bookmark in state: {state}"

    # The first run's last load time, read back as the target wrote it (target-duckdb: local
    # time, no zone), so what the second run loads is told apart without the machine's zone.
    first_batch = newest_batch(first)
    sandbox.apis["segment"].add_audit_events(NEW_AUDIT_EVENTS)
    run()
    second = wh.tables()
    want = {k: len(rows) for k, (_, rows) in first.items()}
    want[audit] += NEW_AUDIT_EVENTS
    for where in manifests:
        want[where] += 1
    got = {k: len(rows) for k, (_, rows) in second.items()}
    changed = {
        k: (want.get(k), got.get(k)) for k in set(want) | set(got) if want.get(k) != got.get(k)
    }
    assert not changed, f"second run changed row counts (expected, got): {changed}"
    # A full re-read would load every audit event again; the bookmark limits the second run
    # to the new ones plus the lookback window.
    reloaded = sum(row["_sdc_batched_at"] > first_batch for row in second[audit][1])
    assert NEW_AUDIT_EVENTS <= reloaded < len(second[audit][1]), (
        f"second run loaded {reloaded} of {len(second[audit][1])} audit events "
        f"(new: {NEW_AUDIT_EVENTS}): it did not start from the stored bookmark"
    )


# --------------------------------------------------------------------------- tests


def test_select_lists_are_the_taps_defaults() -> None:
    """Meltano ignores selected-by-default, so meltano.yml takes every stream (`*.*`) and
    excludes exactly the opt-in ones: a new default stream needs no line there."""
    project = yaml.safe_load((ROOT / "meltano.yml").read_text())
    configs = {
        "tap-segment": {"token": "x"},
        "tap-fivetran": {"api_key": "x", "api_secret": "y"},
        "tap-hr-roster": {},  # the roster file is needed to sync, not to discover
    }
    for plugin in project["plugins"]["extractors"]:
        name = plugin["name"]
        catalog = discover(name, configs[name])
        everything, *rules = plugin["select"]
        assert everything == "*.*", name
        assert all(rule.startswith("!") and rule.endswith(".*") for rule in rules), name
        excluded = {rule[1:].removesuffix(".*") for rule in rules}
        streams = {entry["tap_stream_id"] for entry in catalog["streams"]}
        assert excluded <= streams, f"{name}: excludes streams it does not have"
        assert streams - excluded == default_selected(catalog), name


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


def test_plugins_are_installed_compiled(meltano_installed: None) -> None:
    """Every plugin's venv holds bytecode for its site-packages: `meltano install` passes the
    project env (UV_COMPILE_BYTECODE) to uv. Without it, where .pyc files cannot be written
    (PYTHONDONTWRITEBYTECODE, read-only images) every tap, target and dbt start compiled its
    imports again: a second per tap start, three per dbt start, in every run of the job."""
    venvs = sorted((ROOT / ".meltano").glob("*/*/venv"))
    assert len(venvs) >= 4, venvs
    for venv in venvs:
        site = next(venv.glob("lib/python*/site-packages"))
        compiled = {
            pyc.parent.parent / f"{pyc.name.split('.')[0]}.py"
            for pyc in site.rglob("__pycache__/*.pyc")
        }
        sources = list(site.rglob("*.py"))
        missing = [path for path in sources if path not in compiled]
        assert len(missing) <= 0.05 * len(sources), (
            f"{venv}: {len(missing)} of {len(sources)} modules without bytecode "
            f"(run `meltano install --clean` once), e.g. {missing[:3]}"
        )


def test_dbt_log_file_keeps_info_not_debug(meltano_installed: None, tmp_path: Path) -> None:
    """Through Meltano, dbt writes info to logs/dbt.log, not its debug events (each query and
    cache step: a twentieth of a build's time); DBT_LOG_LEVEL_FILE=debug brings them back."""
    base = {
        **{k: v for k, v in mt.clean_env().items() if not k.startswith("DBT_")},
        "TARGET_DUCKDB_PATH": str(tmp_path / "warehouse.duckdb"),
    }
    levels = {}
    for name, extra in (("default", {}), ("debug", {"DBT_LOG_LEVEL_FILE": "debug"})):
        logs = tmp_path / f"logs-{name}"
        env = {**base, **extra, "DBT_LOG_PATH": str(logs), "DBT_TARGET_PATH": str(logs / "t")}
        try:
            mt.meltano(
                "--environment=sandbox", "invoke", "dbt-duckdb", "parse", env=env, timeout=300
            )
        except mt.MeltanoError as err:
            pytest.fail(str(err))
        text = (logs / "dbt.log").read_text(encoding="utf-8")
        levels[name] = set(re.findall(r"^\S+ \[(\w+)\s*\]", text, flags=re.MULTILINE))
    assert levels["default"] == {"info"}, levels
    assert "debug" in levels["debug"], levels


def test_meltano_to_duckdb(sandbox: Sandbox, meltano_env: dict[str, str]) -> None:
    """The combined job into DuckDB: tables hold the taps' records, second run upserts, state
    kept; also when each stream loads in many batches while its tap still reads (7 rows here,
    1,000 in meltano.yml: batches of one stream meet again in the table, and the first row of
    each batch is the one an unsupported DuckDB drops)."""
    meltano_env = {**meltano_env, "TARGET_DUCKDB_BATCH_SIZE_ROWS": "7"}
    path = Path(meltano_env["TARGET_DUCKDB_PATH"])
    wh = Warehouse(
        "target-duckdb",
        lambda: duckdb_tables(path),
        frozenset({"timestamp"}),
        empty_is_null=True,
        stream_maps={},
    )
    check_pipeline(
        meltano_env,
        sandbox,
        lambda: meltano_run(meltano_env, "control-planes-to-duckdb"),
        wh,
        "target-duckdb",
    )


def test_meltano_to_postgres(
    sandbox: Sandbox, meltano_env: dict[str, str], postgres: pg_server.PostgresServer
) -> None:
    """Both taps into a real PostgreSQL: same guarantees as DuckDB, also in batches of 7."""
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
        "TARGET_POSTGRES_BATCH_SIZE_ROWS": "7",
    }
    wh = Warehouse(
        "target-postgres",
        lambda: postgres_tables(postgres),
        frozenset({"timestamp with time zone", "timestamp without time zone"}),
        empty_is_null=False,
        stream_maps=postgres_stream_maps(),
    )
    check_pipeline(
        env,
        sandbox,
        lambda: meltano_run(
            env, "tap-segment", "target-postgres", "tap-fivetran", "target-postgres"
        ),
        wh,
        "target-postgres",
    )
