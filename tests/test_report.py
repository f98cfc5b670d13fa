"""The evidence pack, end to end: real warehouses (a DuckDB file, a PostgreSQL server), the real
CLI, Graphviz, and Debian's headless Chromium opening index.html from disk (file://).

Every expected number is read from the warehouse here, with this file's own queries, not typed
in and not taken from the report's code. The same checks run on the fixture in DuckDB, the
fixture in PostgreSQL, and (marker e2e) on real marts: Meltano runs `control-planes-evidence`
(both taps, target-duckdb, dbt) twice against the sandbox with its world changed in between,
into a temporary DuckDB file; EVIDENCE_PACK_TEST_DUCKDB names an existing one instead.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import io
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from taps_sandbox.base import SENTINEL, SandboxOptions
from taps_sandbox.server import Sandbox
from tests import evidence_fixture as fx
from tests import pg_server
from tests.access_review_flow import add_roster, record_review, run_cli

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# An existing warehouse with real marts to test on instead of running the pipeline.
REAL_DUCKDB = os.environ.get("EVIDENCE_PACK_TEST_DUCKDB")
PIPELINE_TIMEOUT_S = 900.0
PASSWORD_ENV = "EVIDENCE_TEST_PG_PASSWORD"
PASSWORD = f"{SENTINEL}-pg-password"


def utc(value: Any) -> datetime | None:
    """A warehouse timestamp (aware, naive UTC or ISO text) as aware UTC."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def jlist(value: Any) -> list[Any]:
    """An array column: JSON text (target-duckdb) or a list already (jsonb, DuckDB lists)."""
    if value is None:
        return []
    return json.loads(value) if isinstance(value, str) else list(value)


# --- the warehouses -------------------------------------------------------------------------


@dataclass
class Source:
    """A warehouse to report on, and plain queries to read the expected numbers from it."""

    name: str
    cli_args: list[str]
    now: datetime
    con: Any = None
    dialect: str = "duckdb"
    env: dict[str, str] = field(default_factory=dict)

    def rows(self, sql: str) -> list[dict[str, Any]]:
        if self.dialect == "duckdb":
            cur = self.con.execute(sql)
            names = [d[0] for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        with self.con.cursor() as cur:
            cur.execute(sql)
            names = [d.name for d in cur.description]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    def has_table(self, schema: str, table: str) -> bool:
        return bool(
            self.rows(
                "SELECT 1 AS x FROM information_schema.tables "
                f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
            )
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fixture_duckdb(tmp_path_factory) -> Path:
    return fx.write_duckdb(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


@pytest.fixture(scope="module")
def postgres_fixture() -> Iterator[pg_server.PostgresServer]:
    """The fixture in a throw-away PostgreSQL on a free loopback port."""
    try:
        pg_server.find_bin_dir()
    except pg_server.PostgresUnavailable as err:
        pytest.fail(str(err))
    last: Exception | None = None
    for _ in range(3):  # the port can be taken between probe and bind
        try:
            server = pg_server.start(free_port())
            break
        except pg_server.PostgresUnavailable as err:
            last = err
    else:
        pytest.fail(f"PostgreSQL would not start: {last}")
    try:
        fx.write_postgres(server.dsn)
        yield server
    finally:
        server.stop()


def _meltano_tools() -> Any:
    """scripts/meltano_tools.py: the installer and bounded runner `make demo` uses."""
    spec = importlib.util.spec_from_file_location(
        "meltano_tools", ROOT / "scripts" / "meltano_tools.py"
    )
    assert spec is not None and spec.loader is not None
    module = sys.modules.get("meltano_tools") or importlib.util.module_from_spec(spec)
    if "meltano_tools" not in sys.modules:
        sys.modules["meltano_tools"] = module
        spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def pipeline_duckdb(tmp_path_factory) -> Path:
    """Real marts: two `control-planes-evidence` runs, the sandbox's world changed between,
    with an HR roster and an access review recorded on the first run's pack."""
    if REAL_DUCKDB:
        return Path(REAL_DUCKDB)
    mt = _meltano_tools()
    try:
        mt.ensure_meltano(timeout=PIPELINE_TIMEOUT_S)
        mt.install_plugins(timeout=PIPELINE_TIMEOUT_S)
    except mt.MeltanoError as err:
        pytest.fail(f"Meltano setup failed: {err}")
    tmp = tmp_path_factory.mktemp("pipeline")
    warehouse = tmp / "sandbox.duckdb"
    sb = Sandbox(SandboxOptions(), port=0)
    sb.start()
    env = {
        "SANDBOX_PORT": str(sb.port),
        "MELTANO_STATE_BACKEND_URI": f"file://{tmp}/state",
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",
        "TARGET_DUCKDB_PATH": str(warehouse),
        "DBT_TARGET_PATH": str(tmp / "dbt-target"),
        "DBT_LOG_PATH": str(tmp / "dbt-logs"),
    }
    env, _ = add_roster(env, tmp)  # leavers
    try:
        for step in (0, 1):
            sb.set_world_step(step)
            mt.meltano(
                "--environment=sandbox",
                "run",
                "control-planes-evidence",
                env=env,
                timeout=PIPELINE_TIMEOUT_S,
            )
            if step == 0:  # a review on the first run's pack, followed up by the second
                record_review(["--duckdb", str(warehouse)], tmp)
    except mt.MeltanoError as err:
        pytest.fail(f"control-planes-evidence failed: {err}")
    finally:
        sb.stop()
    return warehouse


@pytest.fixture(
    scope="module",
    params=[
        "fixture-duckdb",
        "fixture-postgres",
        pytest.param("pipeline-duckdb", marks=pytest.mark.e2e),
    ],
)
def source(request, fixture_duckdb) -> Iterator[Source]:
    if request.param == "fixture-duckdb":
        import duckdb

        con = duckdb.connect(str(fixture_duckdb), read_only=True)
        yield Source("fixture-duckdb", ["--duckdb", str(fixture_duckdb)], fx.NOW, con)
        con.close()
    elif request.param == "fixture-postgres":
        import psycopg

        server = request.getfixturevalue("postgres_fixture")
        con = psycopg.connect(server.dsn)
        args = [
            "--pg-host",
            server.host,
            "--pg-port",
            str(server.port),
            "--pg-user",
            server.user,
            "--pg-database",
            server.database,
            "--pg-password-env",
            PASSWORD_ENV,
        ]
        # Trust auth ignores the password; it is set so the scans can prove it never shows.
        yield Source("fixture-postgres", args, fx.NOW, con, "postgres", {PASSWORD_ENV: PASSWORD})
        con.close()
    else:
        import duckdb

        warehouse = request.getfixturevalue("pipeline_duckdb")
        tmp = Path(request.config._tmp_path_factory.mktemp("real")) / "sandbox.duckdb"
        shutil.copy(warehouse, tmp)  # a copy: a concurrent run may hold the file's lock
        con = duckdb.connect(str(tmp), read_only=True)
        now = datetime.now(UTC).replace(microsecond=0)
        yield Source("pipeline-duckdb", ["--duckdb", str(tmp)], now, con)
        con.close()


# --- what the warehouse says, read independently of the report ------------------------------


@dataclass
class Expected:
    access: list[dict[str, Any]]
    changes: list[dict[str, Any]]
    config: list[dict[str, Any]]
    creds: list[dict[str, Any]]
    flows: list[dict[str, Any]]
    runs: list[dict[str, Any]]
    since: datetime

    def last_complete(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Per tap and tenant the newest complete run, else (marked) the newest run."""
        best: dict[tuple[str, str], dict[str, Any]] = {}
        for r in sorted(self.runs, key=lambda r: utc(r["finished_at"])):
            for tenant in jlist(r["tenant_ids"]):
                key = (r["tap"], str(tenant))
                have = best.get(key)
                if have is None or r["status"] == "complete" or have["status"] != "complete":
                    best[key] = r
        return best


def expected(src: Source) -> Expected:
    runs: list[dict[str, Any]] = []
    for schema in ("segment", "fivetran"):
        if src.has_table(schema, "sync_runs"):
            runs += src.rows(
                "SELECT run_id, tap, status, started_at, finished_at, tenant_ids, streams "
                f"FROM {schema}.sync_runs"
            )
    previous = []
    for tap in {r["tap"] for r in runs}:
        done = sorted(
            utc(r["finished_at"]) for r in runs if r["tap"] == tap and r["status"] == "complete"
        )
        if len(done) >= 2:
            previous.append(done[-2])
    since = max(previous) if previous else datetime(1970, 1, 1, tzinfo=UTC)
    return Expected(
        access=src.rows(
            "SELECT system, tenant_id, account_id, email, status, is_privileged, created_at, "
            "first_seen_at, last_login_at, last_activity_at FROM evidence.access_review"
        ),
        changes=src.rows("SELECT seen_at, account_id, change FROM evidence.access_changes"),
        config=src.rows("SELECT seen_at FROM evidence.config_changes"),
        creds=src.rows("SELECT * FROM evidence.credentials_inventory"),
        flows=src.rows(
            "SELECT DISTINCT system, tenant_id, from_type, from_id, to_type, to_id, from_name, "
            "to_name FROM evidence.data_flows"
        ),
        runs=runs,
        since=since,
    )


def read_audit(run: dict[str, Any], tenant: str) -> bool:
    """The run's manifest says it read the tenant's audit trail completely."""
    return any(
        s.get("stream") == "audit_events"
        and s.get("status") == "complete"
        and s.get("tenant_id") in (None, "", tenant)
        for s in jlist(run["streams"])
    )


def audit_trail_since(exp: Expected) -> dict[str, datetime]:
    """Per Segment workspace, the start of the first run that read its audit trail whole,
    where its newest complete run read the trail too: the trail has no gap since then."""
    since: dict[str, datetime] = {}
    for (tap, tenant), last in exp.last_complete().items():
        if tap != "tap-segment" or last["status"] != "complete" or not read_audit(last, tenant):
            continue
        starts = [
            utc(r["started_at"])
            for r in exp.runs
            if r["tap"] == tap and str(tenant) in map(str, jlist(r["tenant_ids"]))
            if read_audit(r, tenant)
        ]
        since[tenant] = min(s for s in starts if s is not None)
    return since


def inactive(a: dict[str, Any], trail: dict[str, datetime], cut: datetime) -> bool:
    """Active, and no login since `cut`; without a login time (Segment) no audit event since
    then, judged only on a trail and an account that both reach back past `cut`."""
    if a["status"] != "active":
        return False
    if a["last_login_at"] is not None:
        return utc(a["last_login_at"]) < cut
    since = trail.get(str(a["tenant_id"]))
    if a["system"] != "segment" or since is None or since > cut:
        return False
    if a["first_seen_at"] is None or utc(a["first_seen_at"]) > cut:
        return False
    return a["last_activity_at"] is None or utc(a["last_activity_at"]) < cut


def hygiene_counts(exp: Expected, now: datetime) -> dict[str, int]:
    live = [c for c in exp.creds if c.get("status") != "removed"]  # revoked keys: no finding
    return {
        "unused-keys": sum(
            1
            for c in live
            if c["last_used_at"] is not None and utc(c["last_used_at"]) < now - timedelta(days=90)
        ),
        "never-expiring-keys": sum(1 for c in live if c["expires_at"] is None),
        "pending-invites": sum(
            1
            for a in exp.access
            if a["status"] == "invited"
            and (a["created_at"] or a["first_seen_at"]) is not None
            and utc(a["created_at"] or a["first_seen_at"]) < now - timedelta(days=30)
        ),
        "no-recent-login": sum(
            1 for a in exp.access if inactive(a, audit_trail_since(exp), now - timedelta(days=90))
        ),
    }


# --- the pack and the browser ---------------------------------------------------------------


@dataclass
class Built:
    src: Source
    out: Path
    proc: subprocess.CompletedProcess[str]
    exp: Expected


@pytest.fixture(scope="module")
def built(source: Source, tmp_path_factory) -> Built:
    out = tmp_path_factory.mktemp(f"pack-{source.name}") / "evidence-pack"
    proc = run_cli(
        *source.cli_args, "--out", str(out), "--now", source.now.isoformat(), env=source.env
    )
    assert proc.returncode == 0, proc.stderr
    return Built(source, out, proc, expected(source))


@pytest.fixture(scope="module")
def driver() -> Iterator[Any]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            "Debian's chromium and chromium-driver are needed: "
            "apt-get install chromium chromium-driver (.ci/run does this)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-extensions",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(executable_path=str(CHROMEDRIVER)))
    drv.set_page_load_timeout(60)
    drv.set_script_timeout(30)
    yield drv
    drv.quit()


@dataclass
class Opened:
    built: Built
    drv: Any
    console: list[dict[str, Any]]
    requests: list[str]
    screenshot: Path


@pytest.fixture(scope="module")
def page(built: Built, driver: Any, tmp_path_factory) -> Opened:
    driver.get_log("browser")  # drop whatever an earlier page left
    driver.get_log("performance")
    driver.get((built.out / "index.html").as_uri())
    driver.find_element("css selector", "#exports")  # rendered to the end
    console = driver.get_log("browser")
    requests = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            requests.append(msg["params"]["request"]["url"])
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(1400, min(int(height) + 100, 16000))
    shot = tmp_path_factory.mktemp(f"screens-{built.src.name}") / "evidence-pack.png"
    driver.save_screenshot(str(shot))
    driver.set_window_size(1400, 1000)
    return Opened(built, driver, console, requests, shot)


def by_testid(drv: Any, name: str, scope: Any = None) -> str:
    return (scope or drv).find_element("css selector", f'[data-testid="{name}"]').text


def rows_of(drv: Any, table_id: str, *, visible_only: bool = False) -> list[Any]:
    rows = drv.find_elements("css selector", f"#{table_id} tbody tr")
    return [r for r in rows if r.is_displayed()] if visible_only else rows


def n(value: int) -> str:
    return f"{value:,}"


# --- the page -------------------------------------------------------------------------------


def test_every_section_renders(page: Opened) -> None:
    sections = ("runs", "access", "privileged", "changes", "hygiene", "privacy", "flows")
    for sid in (*sections, "review", "exports"):
        el = page.drv.find_element("css selector", f"section#{sid}")
        assert el.is_displayed() and el.size["height"] > 40, sid
    assert page.screenshot.stat().st_size > 20_000
    print(f"screenshot: {page.screenshot}")


def test_console_is_clean_and_nothing_is_fetched(page: Opened) -> None:
    errors = [e for e in page.console if e["level"] in {"SEVERE", "WARNING"}]
    assert errors == []
    assert page.requests, "the performance log saw no request at all"
    assert [u for u in page.requests if not u.startswith(("file:", "data:"))] == []


def test_runs_show_the_last_complete_run_per_tap_and_tenant(page: Opened) -> None:
    best = page.built.exp.last_complete()
    assert best, "the warehouse has no complete run"
    blocks = page.drv.find_elements("css selector", ".tenant-run")
    shown = {(b.get_attribute("data-tap"), b.get_attribute("data-tenant")): b for b in blocks}
    assert set(shown) == set(best)
    for (tap, tenant), run in best.items():
        block = shown[tap, tenant]
        assert by_testid(page.drv, "run-id", block) == run["run_id"]
        complete = run["status"] == "complete"
        assert block.get_attribute("data-complete") == str(complete).lower()
        assert (
            bool(block.find_elements("css selector", '[data-testid="no-complete-run"]')) != complete
        )
        mine = [s for s in jlist(run["streams"]) if s.get("tenant_id") in (None, "", tenant)]
        cells = {}
        for tr in block.find_elements("css selector", "tbody tr"):
            stream = tr.find_element("css selector", '[data-col-key="stream"]').text
            cells[stream] = (
                tr.find_element("css selector", '[data-col-key="status"]').text,
                tr.find_element("css selector", '[data-col-key="records"]').text,
            )
        assert cells == {s["stream"]: (s["status"], n(int(s["records"] or 0))) for s in mine}
        assert by_testid(page.drv, "records-total", block) == n(
            sum(int(s["records"] or 0) for s in mine)
        )
        for status in ("failed", "skipped"):
            assert by_testid(page.drv, f"streams-{status}", block) == n(
                sum(1 for s in mine if s["status"] == status)
            )


def test_access_review_numbers_sort_and_filter(page: Opened) -> None:
    drv, exp = page.drv, page.built.exp
    assert by_testid(drv, "access-total") == n(len(exp.access))
    assert by_testid(drv, "card-accounts-total") == n(len(exp.access))
    assert len(rows_of(drv, "access-review")) == len(exp.access)
    privileged = [a for a in exp.access if a["is_privileged"] and a["status"] != "removed"]
    assert by_testid(drv, "privileged-count") == n(len(privileged))
    assert len(rows_of(drv, "privileged-accounts")) == len(privileged)

    # Filter by status: only that status's rows stay visible, and the counter says so.
    select = drv.find_element("css selector", 'select[data-filter="access-review"][data-col="6"]')
    from selenium.webdriver.support.ui import Select

    for status in sorted({a["status"] for a in exp.access}):
        Select(select).select_by_visible_text(status)
        visible = rows_of(drv, "access-review", visible_only=True)
        want = sum(1 for a in exp.access if a["status"] == status)
        assert len(visible) == want, status
        assert drv.find_element("css selector", '[data-shown="access-review"]').text == str(want)
    Select(select).select_by_index(0)

    # Free text: one account's email.
    emails = sorted({a["email"] for a in exp.access if a["email"]})
    needle = emails[len(emails) // 2]
    box = drv.find_element("css selector", 'input[data-filter="access-review"]')
    box.send_keys(needle)
    visible = rows_of(drv, "access-review", visible_only=True)
    assert len(visible) == sum(1 for a in exp.access if a["email"] and needle in a["email"])
    box.clear()
    box.send_keys(" ")  # clear() fires no input event; a blank filter shows everything
    assert len(rows_of(drv, "access-review", visible_only=True)) == len(exp.access)

    # Sort by "Created" (ISO sort keys), then the other way round.
    head = drv.find_element("css selector", "#access-review thead th:nth-child(9)")
    keys = lambda: [  # noqa: E731
        td.get_attribute("data-sort")
        for td in drv.find_elements("css selector", '#access-review td[data-col-key="created_at"]')
    ]
    head.click()
    assert head.get_attribute("aria-sort") == "ascending"
    assert keys() == sorted(keys())
    head.click()
    assert keys() == sorted(keys(), reverse=True)


def test_changes_since_the_previous_run(page: Opened) -> None:
    drv, exp = page.drv, page.built.exp
    since = exp.since
    access = [c for c in exp.changes if c["seen_at"] and utc(c["seen_at"]) > since]
    assert by_testid(drv, "since") == since.strftime("%Y-%m-%d %H:%M UTC")
    assert by_testid(drv, "access-changes-count") == n(len(access))
    assert len(rows_of(drv, "access-changes")) == len(access)
    config = [c for c in exp.config if c["seen_at"] and utc(c["seen_at"]) > since]
    assert by_testid(drv, "config-changes-count") == n(len(config))
    assert len(rows_of(drv, "config-changes")) == len(config)


def test_credential_hygiene(page: Opened) -> None:
    drv = page.drv
    counts = hygiene_counts(page.built.exp, page.built.src.now)
    for name, want in counts.items():
        assert by_testid(drv, f"{name}-count") == n(want), name
        assert len(rows_of(drv, name)) == want, name
    assert by_testid(drv, "credentials-total") == n(len(page.built.exp.creds))


def test_diagram_holds_every_flow(page: Opened) -> None:
    drv, flows = page.drv, page.built.exp.flows
    assert by_testid(drv, "flows-count") == n(len(flows))
    edges = drv.execute_script(
        "return Array.from(document.querySelectorAll('#flow-diagram svg g.edge'))"
        ".map(function (g) { return [g.id, g.querySelector('title').textContent]; });"
    )
    titles = dict(edges)
    assert len(edges) == len(flows)
    for f in flows:
        eid = "flow|" + "|".join(
            str(f[k]) for k in ("system", "tenant_id", "from_type", "from_id", "to_type", "to_id")
        )
        assert eid in titles, eid
        tail, head = titles[eid].split("->")
        for end, short in (("from", tail), ("to", head)):
            nid = f"node|{f['system']}|{f['tenant_id']}|{f[end + '_type']}|{f[end + '_id']}"
            node = drv.execute_script(
                "var g = document.getElementById(arguments[0]);"
                "return g && g.closest('svg') && [g.getAttribute('class'),"
                " g.querySelector('title').textContent, g.textContent];",
                nid,
            )
            assert node, nid
            assert node[0] == "node" and node[1] == short
            assert str(f[end + "_name"] or f[end + "_id"]) in node[2]
    clusters = drv.find_elements("css selector", "#flow-diagram svg g.cluster")
    assert len(clusters) == len({(f["system"], f["tenant_id"]) for f in flows})


def text_of(value: Any) -> str:
    """A warehouse value as the pack writes it: lists comma-joined, None empty."""
    if value is None:
        return ""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return str(value)


def cell_texts(drv: Any, table_id: str, keys: list[str]) -> list[tuple[str, ...]]:
    """Per row of a table, the DOM text of the cells with these column keys."""
    rows = drv.execute_script(
        "var keys = arguments[1];"
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".map(function (tr) { return keys.map(function (k) {"
        "  var td = tr.querySelector('td[data-col-key=\"' + k + '\"]');"
        "  return td ? td.textContent : null; }); });",
        table_id,
        keys,
    )
    return [tuple(r) for r in rows]


def test_user_typed_values_show_as_literal_text(page: Opened) -> None:
    """Names, emails, roles and change values are typed by people with an account: the page
    shows each exactly as typed, so markup in one stays text and never becomes an element."""
    drv, src, exp = page.drv, page.built.src, page.built.exp
    injected = drv.execute_script(
        "return Array.from(document.querySelectorAll('td *'))"
        ".filter(function (e) { return !e.matches('span.badge'); })"
        ".map(function (e) { return e.outerHTML; });"
    )
    assert injected == [], "elements in table cells that the page did not write"
    keys = ["account_id", "email", "name", "roles", "grants"]
    accounts = src.rows("SELECT account_id, email, name, roles, grants FROM evidence.access_review")
    typed = sorted(tuple(text_of(a[k]) for k in keys) for a in accounts)
    assert sorted(cell_texts(drv, "access-review", keys)) == typed
    keys = ["account_id", "email", "resource", "before", "after"]
    changes = [
        tuple(text_of(c[k]) for k in keys)
        for c in src.rows(
            "SELECT seen_at, account_id, email, resource, before, after "
            "FROM evidence.access_changes"
        )
        if c["seen_at"] is not None and utc(c["seen_at"]) > exp.since
    ]
    assert sorted(cell_texts(drv, "access-changes", keys)) == sorted(changes)
    if src.name.startswith("fixture"):
        assert any("<" in v for row in typed for v in row), "no value with markup was checked"


def test_privacy_requests_section(page: Opened) -> None:
    """Counts and rows of evidence.privacy_requests, read here: open, overdue, no longer listed."""
    drv, src = page.drv, page.built.src
    assert src.has_table("evidence", "privacy_requests")
    rows = src.rows(
        "SELECT regulation_id, status, finished_at, overdue, still_listed "
        "FROM evidence.privacy_requests"
    )
    assert by_testid(drv, "privacy-total") == n(len(rows))
    assert by_testid(drv, "privacy-open") == n(sum(1 for r in rows if r["finished_at"] is None))
    overdue = sum(1 for r in rows if r["overdue"])
    assert by_testid(drv, "privacy-overdue") == n(overdue)
    assert by_testid(drv, "privacy-unlisted") == n(sum(1 for r in rows if not r["still_listed"]))
    assert bool(drv.find_elements("css selector", '[data-testid="privacy-overdue-warning"]')) == (
        overdue > 0
    )
    keys = ["regulation_id", "status", "overdue", "still_listed"]
    want = sorted(
        (
            str(r["regulation_id"]),
            str(r["status"]),
            "yes" if r["overdue"] else "no",
            "yes" if r["still_listed"] else "no",
        )
        for r in rows
    )
    assert sorted(cell_texts(drv, "privacy-requests", keys)) == want
    marked = drv.find_elements("css selector", "#privacy-requests tbody tr.overdue")
    assert len(marked) == overdue
    if src.name.startswith("fixture"):
        assert overdue and any(not r["still_listed"] for r in rows), "a vacuous check"


def test_grants_show_as_literal_text(page: Opened) -> None:
    """Grants name resources whose names anyone may type: shown as typed, never as markup."""
    drv, src = page.drv, page.built.src
    grants = {
        str(a["account_id"]): a["grants"] or ""
        for a in src.rows("SELECT account_id, grants FROM evidence.access_review")
    }
    shown = {k: g for k, g in cell_texts(drv, "access-review", ["account_id", "grants"])}
    assert shown == grants
    if src.name.startswith("fixture"):
        assert "<b>Web</b> app" in grants["u2"] and '"<b>Web</b> app"' in shown["u2"]
        assert not drv.find_elements("css selector", "#access-review td b, #access-review td i")


def test_last_review_and_its_open_revokes(page: Opened) -> None:
    """Who signed the last review, on which pack, what it decided, and the revokes still open
    (evidence_reviews.access_decisions and evidence.review_followup); without a recorded review
    the section says how to record one."""
    drv, src = page.drv, page.built.src
    section = drv.find_element("css selector", "section#review")
    if not src.has_table("evidence_reviews", "access_decisions"):
        assert by_testid(drv, "review-none", section) == "No access review is recorded yet."
        assert "evidence-pack record-review --pack DIR" in section.text
        return
    decided = src.rows(
        "SELECT review_id, decision, reviewer, decided_at, pack_sha256 "
        "FROM evidence_reviews.access_decisions"
    )
    last = max(decided, key=lambda r: (utc(r["decided_at"]), r["review_id"]))
    mine = [r["decision"] for r in decided if r["review_id"] == last["review_id"]]
    texts = drv.execute_script(
        "return Array.from(arguments[0].querySelectorAll('[data-testid]'))"
        ".map(function (e) { return [e.getAttribute('data-testid'), e.textContent]; });",
        section,
    )
    shown = dict(texts)
    assert shown["review-reviewer"] == last["reviewer"]
    assert shown["review-pack"] == last["pack_sha256"]
    assert shown["review-decided"] == utc(last["decided_at"]).strftime("%Y-%m-%d %H:%M UTC")
    assert shown["review-keep"] == n(mine.count("keep"))
    assert shown["review-revoke"] == n(mine.count("revoke"))
    followup = src.rows("SELECT email, comment, status FROM evidence.review_followup")
    still = [f for f in followup if f["status"] == "open"]
    assert shown["review-open"] == n(len(still))
    assert shown["review-done"] == n(len(followup) - len(still))
    assert sorted(cell_texts(drv, "review-open-revokes", ["email", "comment"])) == sorted(
        (text_of(f["email"]), text_of(f["comment"])) for f in still
    )
    if src.name.startswith("fixture"):
        assert "<" in last["reviewer"], "no reviewer with markup was checked"
        assert len(still) == 1 and len(followup) > len(still), "one open, others done"
        assert any(f["comment"].startswith("=") for f in still), "no formula comment checked"


# --- leavers (evidence.leaver_access) ------------------------------------------------------

LEAVER_OUTCOMES = ("still_active", "removed_late", "removed_in_time")  # the page's row order


def leaver_rows(src: Source) -> list[dict[str, Any]] | None:
    """The leavers mart as this test reads it; None when the warehouse has none."""
    if not src.has_table("evidence", "leaver_access"):
        return None
    return src.rows(
        "SELECT email, terminated_at, system, tenant_id, account_id, status, removed_at, "
        "days_to_removal, outcome FROM evidence.leaver_access"
    )


def test_leavers_section(page: Opened) -> None:
    """Counts per outcome, every row with its values as typed (the roster's emails are typed by
    people: markup stays text), still-active accounts first and warned about."""
    drv, src = page.drv, page.built.src
    section = drv.find_element("css selector", "section#leavers")
    assert section.is_displayed() and section.size["height"] > 40
    rows = leaver_rows(src)
    if rows is None:
        assert "EVIDENCE_HR_ROSTER" in by_testid(drv, "leavers-missing")
        return
    counts = {o: sum(1 for r in rows if r["outcome"] == o) for o in LEAVER_OUTCOMES}
    for outcome, want in counts.items():
        assert by_testid(drv, "leavers-" + outcome.replace("_", "-")) == n(want), outcome
    assert by_testid(drv, "leavers-accounts") == n(len(rows))
    people = {str(r["email"]).strip().lower() for r in rows}
    assert by_testid(drv, "leavers-people") == n(len(people))
    warned = drv.find_elements("css selector", '[data-testid="leavers-still-active-warning"]')
    assert bool(warned) == (counts["still_active"] > 0)
    if not rows:
        assert "EVIDENCE_HR_ROSTER" in by_testid(drv, "leavers-empty")
        return
    keys = ["email", "system", "tenant_id", "account_id", "status", "outcome", "days_to_removal"]
    want = sorted(
        tuple(
            "" if r[k] is None else f"{float(r[k]):.2f}" if k == "days_to_removal" else str(r[k])
            for k in keys
        )
        for r in rows
    )
    assert sorted(cell_texts(drv, "leaver-access", keys)) == want
    shown = [o for (o,) in cell_texts(drv, "leaver-access", ["outcome"])]
    assert shown == sorted(shown, key=LEAVER_OUTCOMES.index)
    left = sorted(utc(r["terminated_at"]).strftime("%Y-%m-%d %H:%M UTC") for r in rows)
    assert sorted(t for (t,) in cell_texts(drv, "leaver-access", ["terminated_at"])) == left
    if src.name.startswith("fixture"):
        assert set(counts.values()) != {0} and all(counts.values()), "an outcome is not shown"
        assert any("<" in str(r["email"]) for r in rows), "no email with markup was checked"


# --- the files ------------------------------------------------------------------------------


def test_privacy_requests_csv(built: Built) -> None:
    """tables/privacy_requests.csv: every request of the mart, the contract's columns only (the
    fixture's subjects column, personal data, never)."""
    from evidence_pack.contracts import mart_contracts

    with (built.out / "tables" / "privacy_requests.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [c.name for c in mart_contracts()["privacy_requests"]]
    assert "subjects" not in rows[0]
    ids = sorted(
        str(r["regulation_id"])
        for r in built.src.rows("SELECT regulation_id FROM evidence.privacy_requests")
    )
    assert sorted(r[rows[0].index("regulation_id")] for r in rows[1:]) == ids


def test_manifest_hashes_every_file(built: Built) -> None:
    doc = json.loads((built.out / "manifest.json").read_text())
    on_disk = sorted(
        p.relative_to(built.out).as_posix()
        for p in built.out.rglob("*")
        if p.is_file() and p.name != "manifest.json"
    )
    assert [f["path"] for f in doc["files"]] == on_disk
    assert "index.html" in on_disk
    for f in doc["files"]:
        data = (built.out / f["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == f["sha256"]
        assert len(data) == f["bytes"]


def test_access_review_csv_carries_grants_and_activity(built: Built) -> None:
    """tables/access_review.csv has each account's grants (verbatim, formulas quoted) and its
    latest activity, as the warehouse holds them."""
    with (built.out / "tables" / "access_review.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    want = {
        str(a["access_key"]): (
            as_exported(a["grants"] or ""),
            "" if a["last_activity_at"] is None else utc(a["last_activity_at"]),
        )
        for a in built.src.rows(
            "SELECT access_key, grants, last_activity_at FROM evidence.access_review"
        )
    }
    got = {
        r["access_key"]: (r["grants"], utc(r["last_activity_at"]) if r["last_activity_at"] else "")
        for r in rows
    }
    assert got == want


def test_vanta_and_drata_files(built: Built) -> None:
    exp = built.exp
    reviewed = [a for a in exp.access if a["status"] in {"active", "inactive", "removed"}]
    tenants = {(a["system"], a["tenant_id"]) for a in reviewed}
    vanta = sorted((built.out / "vanta").glob("*.csv"))
    assert len(vanta) == len(tenants)
    header = [
        "Account name",
        "Account owner",
        "Role",
        "Status",
        "Date created (UTC)",
        "Date deactivated (UTC)",
    ]
    body: list[list[str]] = []
    for path in vanta:
        rows = list(csv.reader(io.StringIO(path.read_text())))
        assert rows[0] == header
        body += rows[1:]
    assert len(body) == len(reviewed)
    assert sorted(r[3] for r in body) == sorted(
        "Active" if a["status"] == "active" else "Deactivated" for a in reviewed
    )
    dated = [r for r in body if r[5]]
    assert all(r[3] == "Deactivated" for r in dated)
    assert len(dated) == sum(1 for a in reviewed if a["status"] == "removed")
    drata = sorted((built.out / "drata").glob("*.csv"))
    assert [p.name for p in drata] == [p.name for p in vanta]


# Cells a spreadsheet would run as a formula; the pack writes them with a leading quote.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def ymd(moment: datetime | None) -> str:
    """A day as both tools take dates (YYYY-MM-DD, UTC); empty when there is none."""
    return moment.strftime("%Y-%m-%d") if moment else ""


def as_exported(value: str) -> str:
    """A CSV cell as the pack writes ``value``: formula starts quoted, the rest as it is."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def test_vanta_and_drata_rows_match_the_accounts(built: Built) -> None:
    """Every row of every access file holds its account's values: name, owner (email),
    username, role, status, date created and date deactivated, one file per system and
    tenant; read from the warehouse here, not from the pack's code."""
    src = built.src
    gone: dict[tuple[str, str, str], datetime] = {}
    for c in src.rows(
        "SELECT seen_at, system, tenant_id, account_id, change FROM evidence.access_changes"
    ):
        seen = utc(c["seen_at"])
        if c["change"] in ("removed", "revoked") and seen is not None:
            key = (str(c["system"]), str(c["tenant_id"]), str(c["account_id"]))
            gone[key] = max(seen, gone.get(key, seen))
    vanta: dict[tuple[str, str], list[list[str]]] = {}
    drata: dict[tuple[str, str], list[list[str]]] = {}
    for a in src.rows(
        "SELECT system, tenant_id, account_id, email, name, roles, status, created_at, "
        "first_seen_at, last_seen_at FROM evidence.access_review"
    ):
        if a["status"] not in ("active", "inactive", "removed"):
            continue  # a pending invite is not an account yet
        tenant = (str(a["system"]), str(a["tenant_id"]))
        created = utc(a["created_at"] or a["first_seen_at"])
        ended = gone.get((*tenant, str(a["account_id"])), utc(a["last_seen_at"]))
        deactivated = ymd(ended) if a["status"] == "removed" else ""
        active = a["status"] == "active"
        roles = text_of(a["roles"])
        vanta.setdefault(tenant, []).append(
            [
                a["name"] or a["email"] or str(a["account_id"]),
                a["email"] or "No owner",
                roles,
                "Active" if active else "Deactivated",
                ymd(created),
                deactivated,
            ]
        )
        drata.setdefault(tenant, []).append(
            [
                a["name"] or "",
                a["email"] or "",
                str(a["account_id"]),
                roles,
                "Active" if active else "Inactive",
                ymd(created),
                deactivated,
            ]
        )
    assert vanta, "no account to export"
    for folder, want in (("vanta", vanta), ("drata", drata)):
        files = sorted((built.out / folder).glob("*.csv"))
        got = []
        for path in files:
            with path.open(newline="", encoding="utf-8") as fh:  # a CR inside a cell stays
                got.append(sorted(list(csv.reader(fh))[1:]))
        got.sort()
        expected_rows = sorted(
            sorted([as_exported(v) for v in row] for row in rows) for rows in want.values()
        )
        assert got == expected_rows, folder


def test_no_secret_anywhere(built: Built) -> None:
    assert SENTINEL not in built.proc.stdout + built.proc.stderr
    files = [p for p in built.out.rglob("*") if p.is_file()]
    assert files
    leaks = [str(p) for p in files if SENTINEL.encode() in p.read_bytes()]
    assert leaks == []


# --- bad input: one line, no traceback ------------------------------------------------------


def one_line_error(proc: subprocess.CompletedProcess[str], *words: str) -> str:
    assert proc.returncode == 2, proc.stdout + proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def test_missing_duckdb_file(tmp_path: Path) -> None:
    one_line_error(
        run_cli("--duckdb", str(tmp_path / "nope.duckdb"), "--out", str(tmp_path / "o")),
        "nope.duckdb",
        "not found",
    )


def test_warehouse_without_marts(tmp_path: Path) -> None:
    path = fx.write_duckdb(tmp_path / "w.duckdb", skip={"evidence.data_flows"})
    one_line_error(
        run_cli("--duckdb", str(path), "--out", str(tmp_path / "o")), "evidence.data_flows"
    )


def test_warehouse_without_privacy_mart(tmp_path: Path) -> None:
    """A warehouse built before privacy_requests existed still gives a pack: the section says
    the mart is missing, the CSV holds its header only."""
    path = fx.write_duckdb(tmp_path / "w.duckdb", skip={"evidence.privacy_requests"})
    out = tmp_path / "pack"
    proc = run_cli("--duckdb", str(path), "--out", str(out), "--now", fx.NOW.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert 'data-testid="privacy-missing"' in (out / "index.html").read_text()
    lines = (out / "tables" / "privacy_requests.csv").read_text().splitlines()
    assert len(lines) == 1 and lines[0].startswith("request_key,")


def test_bad_dates(tmp_path: Path, fixture_duckdb: Path) -> None:
    for opt in ("--since", "--now"):
        one_line_error(
            run_cli("--duckdb", str(fixture_duckdb), opt, "yesterday"), opt, "YYYY-MM-DD"
        )


def test_out_that_is_not_a_pack(tmp_path: Path, fixture_duckdb: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    one_line_error(run_cli("--duckdb", str(fixture_duckdb), "--out", str(tmp_path)), "--out")
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_password_is_never_taken_or_echoed_from_the_command_line(tmp_path: Path) -> None:
    line = one_line_error(
        run_cli("--pg-password", PASSWORD, "--pg-host", "127.0.0.1"), "--pg-password"
    )
    assert SENTINEL not in line
    line = one_line_error(run_cli(f"--pg-password={PASSWORD}"), "--pg-password")
    assert SENTINEL not in line


def test_incomplete_or_unreachable_postgres(tmp_path: Path) -> None:
    one_line_error(run_cli("--pg-host", "127.0.0.1"), "--pg-user", "--pg-database")
    one_line_error(
        run_cli(
            "--pg-host", "127.0.0.1", "--pg-user", "u", "--pg-database", "d", "--duckdb", "x.duckdb"
        ),
        "either",
    )
    proc = run_cli(
        "--pg-host",
        "127.0.0.1",
        "--pg-port",
        str(free_port()),
        "--pg-user",
        "u",
        "--pg-database",
        "d",
        "--pg-password-env",
        PASSWORD_ENV,
        "--out",
        str(tmp_path / "o"),
        env={PASSWORD_ENV: PASSWORD},
    )
    line = one_line_error(proc, "cannot connect", "127.0.0.1")
    assert SENTINEL not in line


def test_duckdb_file_named_like_the_schema(tmp_path: Path, fixture_duckdb: Path) -> None:
    """DuckDB names the catalog after the file: evidence.duckdb must not confuse "evidence"."""
    path = tmp_path / "evidence.duckdb"
    shutil.copy(fixture_duckdb, path)
    proc = run_cli("--duckdb", str(path), "--out", str(tmp_path / "o"), "--now", fx.NOW.isoformat())
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "o" / "index.html").is_file()


def test_taps_tables_in_schemas_of_their_own(tmp_path: Path, fixture_duckdb: Path) -> None:
    """An own Meltano project loads into each extractor's load_schema (Meltano's default is the
    namespace, tap_segment): the pack reads sync_runs there when told, and says how when not."""
    import duckdb

    moved = tmp_path / "moved.duckdb"
    shutil.copy(fixture_duckdb, moved)
    schemas = {"segment": "tap_segment", "fivetran": 'raw "fivetran"'}
    with duckdb.connect(str(moved)) as con:
        for old, new in schemas.items():
            quoted = '"' + new.replace('"', '""') + '"'
            con.execute(f"CREATE SCHEMA {quoted}")
            con.execute(f"CREATE TABLE {quoted}.sync_runs AS SELECT * FROM {old}.sync_runs")
            con.execute(f"DROP SCHEMA {old} CASCADE")
    now = ("--now", fx.NOW.isoformat())
    one_line_error(
        run_cli("--duckdb", str(moved), "--out", str(tmp_path / "o"), *now),
        "segment.sync_runs",
        "--segment-schema",
        "--fivetran-schema",
    )
    told = ("--segment-schema", schemas["segment"], "--fivetran-schema", schemas["fivetran"])
    proc = run_cli("--duckdb", str(moved), "--out", str(tmp_path / "moved"), *now, *told)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("--duckdb", str(fixture_duckdb), "--out", str(tmp_path / "as-is"), *now)
    assert proc.returncode == 0, proc.stderr
    runs = [
        (tmp_path / d / "tables" / "last_complete_runs.csv").read_text() for d in ("moved", "as-is")
    ]
    assert runs[0] == runs[1]
    assert "ws-alpha" in runs[0] and "seg-run-" in runs[0]


def test_since_option_sets_the_comparison_date(tmp_path: Path, fixture_duckdb: Path) -> None:
    import duckdb

    since = fx.NOW - timedelta(days=3)
    out = tmp_path / "pack"
    proc = run_cli(
        "--duckdb",
        str(fixture_duckdb),
        "--out",
        str(out),
        "--since",
        since.date().isoformat(),
        "--now",
        fx.NOW.isoformat(),
    )
    assert proc.returncode == 0, proc.stderr
    with duckdb.connect(str(fixture_duckdb), read_only=True) as con:
        seen = [
            utc(r[0]) for r in con.execute("SELECT seen_at FROM evidence.access_changes").fetchall()
        ]
    cut = datetime(since.year, since.month, since.day, tzinfo=UTC)
    rows = list(csv.reader(io.StringIO((out / "tables" / "access_changes_since.csv").read_text())))
    assert len(rows) - 1 == sum(1 for s in seen if s > cut)
    assert json.loads((out / "manifest.json").read_text())[
        "changes_since"
    ] == cut.isoformat().replace("+00:00", "Z")


def test_leaver_access_csv(built: Built) -> None:
    """tables/leaver_access.csv: the contract's columns, every row of the mart; times in UTC,
    days as numbers, text quoted where a spreadsheet would run it."""
    import yaml

    contract = yaml.safe_load(
        (ROOT / "transform" / "models" / "marts" / "leaver_access.yml").read_text("utf-8")
    )
    header = [c["name"] for c in contract["models"][0]["columns"]]
    with (built.out / "tables" / "leaver_access.csv").open(newline="", encoding="utf-8") as fh:
        got = list(csv.reader(fh))
    assert got[0] == header

    def exported(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime):
            return utc(value).isoformat().replace("+00:00", "Z")
        if isinstance(value, str):
            return as_exported(value)
        return str(value)

    rows = leaver_rows(built.src) or []
    assert sorted(got[1:]) == sorted([exported(r[c]) for c in header] for r in rows)
    if built.src.name.startswith("fixture"):
        assert any(c.startswith("'=") for row in got for c in row), "no formula was checked"


def test_warehouse_from_before_the_leavers_mart(tmp_path: Path) -> None:
    """A warehouse built before leaver_access existed still gives the pack: the section says
    the mart is missing and how to get it, the CSV has its header only."""
    path = fx.write_duckdb(tmp_path / "old.duckdb", skip={"evidence.leaver_access"})
    out = tmp_path / "pack"
    proc = run_cli("--duckdb", str(path), "--out", str(out), "--now", fx.NOW.isoformat())
    assert proc.returncode == 0, proc.stderr
    html = (out / "index.html").read_text("utf-8")
    assert 'data-testid="leavers-missing"' in html and "EVIDENCE_HR_ROSTER" in html
    assert 'id="leaver-access"' not in html
    rows = list(csv.reader(io.StringIO((out / "tables" / "leaver_access.csv").read_text())))
    assert len(rows) == 1 and rows[0][0] == "email"


def test_empty_leavers_mart_says_how_to_load_the_roster(tmp_path: Path) -> None:
    import duckdb

    path = fx.write_duckdb(tmp_path / "w.duckdb")
    with duckdb.connect(str(path)) as con:
        con.execute("DELETE FROM evidence.leaver_access")
    out = tmp_path / "pack"
    proc = run_cli("--duckdb", str(path), "--out", str(out), "--now", fx.NOW.isoformat())
    assert proc.returncode == 0, proc.stderr
    html = (out / "index.html").read_text("utf-8")
    empty = html[html.index('data-testid="leavers-empty"') :]
    assert "EVIDENCE_HR_ROSTER" in empty[: empty.index("</p>")]
    assert 'data-testid="leavers-missing"' not in html and 'id="leaver-access"' not in html
