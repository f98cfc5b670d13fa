"""Hostile names through the whole pipeline: sandbox -> taps -> DuckDB -> dbt -> evidence pack.

Any workspace member can name a user, a source or a connection, so names are attacker text.
The sandbox (taps_sandbox.hostile) serves markup, spreadsheet formulas, DOT quoting, a bidi
override and a 10,000-character name on users, user groups, sources, destinations, groups and
connections of both APIs. Meltano runs `control-planes-evidence` twice into a temporary DuckDB
file, first with plain names and then with hostile ones (so the renames are changes too), and
the CLI writes the pack. The warehouse must keep every name verbatim; the page must run none
of it in Chromium and show it as text; the inline SVG must stay well-formed XML with only the
nodes the flows make; and no CSV cell may start a formula unless quoted.
HOSTILE_NAMES_TEST_DUCKDB names a warehouse an earlier run of this module left (under pytest's
temporary folder) to check a new pack against it without running Meltano again.
"""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from taps_sandbox.base import SandboxOptions
from taps_sandbox.hostile import HOSTILE_NAMES, HostileNames, Renamed
from taps_sandbox.server import Sandbox
from tests.test_e2e_meltano import meltano_installed, mt  # noqa: F401 (fixture)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
RUN_TIMEOUT_S = 900.0
CLI_TIMEOUT_S = 300
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# A warehouse this module's two runs filled before, to rebuild only the pack.
REUSE_DUCKDB = os.environ.get("HOSTILE_NAMES_TEST_DUCKDB")
PAGE_TITLE = "Evidence pack: access, changes, credentials, data flows"
SVG_NS = "{http://www.w3.org/2000/svg}"
# Written here, not imported from the code under test: what OWASP says starts a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?")
# Raw table and column each renamed field lands in (the stream's table in its load schema).
RAW = {
    ("segment", "users", "name"): ("segment.users", "name"),
    ("segment", "user_groups", "name"): ("segment.user_groups", "name"),
    ("segment", "sources", "name"): ("segment.sources", "name"),
    ("segment", "destinations", "name"): ("segment.destinations", "name"),
    ("fivetran", "users", "given_name"): ("fivetran.users", "given_name"),
    ("fivetran", "groups", "name"): ("fivetran.groups", "name"),
    ("fivetran", "connections", "schema"): ("fivetran.connections", "schema"),
}


def in_csv(name: str) -> str:
    """How a name must read in a CSV cell: quoted when a spreadsheet would run it."""
    return "'" + name if name.startswith(FORMULA_STARTS) else name


def in_html(name: str) -> str:
    """How a name reads as DOM text: HTML parsing turns CR and CRLF into LF, nothing else."""
    return name.replace("\r\n", "\n").replace("\r", "\n")


@dataclass
class Pipeline:
    """The warehouse both runs filled, the pack built from it, and what was renamed."""

    warehouse: Path
    pack: Path
    renamed: list[Renamed]
    cli: subprocess.CompletedProcess[str]

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return [tuple(r) for r in con.execute(sql, list(params)).fetchall()]

    def renamed_in(self, api: str, collection: str) -> list[Renamed]:
        return [r for r in self.renamed if r.api == api and r.collection == collection]

    def user_names(self) -> dict[tuple[str, str], str]:
        """(system, account id) -> the name the marts should show, from what was served."""
        out = {("segment", r.object_id): r.name for r in self.renamed_in("segment", "users")}
        for r in self.renamed_in("fivetran", "users"):
            family = self.rows("select family_name from fivetran.users where id = ?", r.object_id)
            out["fivetran", r.object_id] = f"{r.name} {family[0][0]}"
        return out


def private_sys_dir(tmp: Path) -> Path:
    """A `.meltano` of this test's own: the installed plugins shared (symlinks), its own `run/`.

    Meltano writes each run's tap config and catalog to `.meltano/run/<plugin>/`, one fixed
    file name per plugin, so two runs in one checkout (another test, a demo) overwrite each
    other's catalog mid-run.
    """
    sys_dir = tmp / "meltano-sys"
    sys_dir.mkdir()
    for kind in ("extractors", "loaders", "utilities", "mappers", "transformers"):
        if (ROOT / ".meltano" / kind).is_dir():
            (sys_dir / kind).symlink_to(ROOT / ".meltano" / kind, target_is_directory=True)
    return sys_dir


def run_twice(sandbox: Sandbox, hostile: HostileNames, tmp: Path, warehouse: Path) -> None:
    """`control-planes-evidence` with plain names, then with hostile ones, into ``warehouse``."""
    sys_dir = private_sys_dir(tmp)
    with sandbox:
        env = {
            "SANDBOX_PORT": str(sandbox.port),
            "MELTANO_SYS_DIR_ROOT": str(sys_dir),
            "MELTANO_STATE_BACKEND_URI": f"file://{tmp}/state",
            "MELTANO_DATABASE_URI": f"sqlite:///{tmp}/meltano.db",
            # The loader's file; meltano.yml has dbt-duckdb and the pack read it too.
            "TARGET_DUCKDB_PATH": str(warehouse),
            "DBT_TARGET_PATH": str(tmp / "dbt-target"),
            "DBT_LOG_PATH": str(tmp / "dbt-logs"),
        }
        for on in (False, True):
            hostile.on = on
            result = mt.meltano(
                "--environment=sandbox",
                "run",
                "control-planes-evidence",
                env=env,
                timeout=RUN_TIMEOUT_S,
                check=False,
            )
            if result.returncode != 0:
                pytest.fail(f"control-planes-evidence (hostile={on}) failed:\n{result.tail()}")


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory, meltano_installed: None) -> Pipeline:  # noqa: F811
    """Two `control-planes-evidence` runs (plain names, then hostile), then the pack."""
    tmp = tmp_path_factory.mktemp("hostile")
    warehouse = tmp / "warehouse.duckdb"
    sandbox = Sandbox(SandboxOptions(), port=0)
    hostile = HostileNames(sandbox)
    if REUSE_DUCKDB:
        warehouse = Path(REUSE_DUCKDB)
    else:
        run_twice(sandbox, hostile, tmp, warehouse)
    pack = tmp / "pack"
    cli = subprocess.run(
        [sys.executable, "-m", "evidence_pack", "--duckdb", str(warehouse), "--out", str(pack)],
        check=False,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=ROOT,
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
    )
    assert cli.returncode == 0, cli.stderr
    return Pipeline(warehouse, pack, hostile.renamed, cli)


# --- the warehouse keeps names verbatim -------------------------------------------------------


def test_raw_tables_hold_every_name_verbatim(pipeline: Pipeline) -> None:
    assert {r.name for r in pipeline.renamed} == set(HOSTILE_NAMES)  # each one is served
    for r in pipeline.renamed:
        table, column = RAW[r.api, r.collection, r.field]
        got = pipeline.rows(f'select "{column}" from {table} where id = ?', r.object_id)
        assert got == [(r.name,)], (table, r.object_id, r.name[:40])
    longest = max(len(r.name) for r in pipeline.renamed)
    assert longest == 10_000


def test_marts_hold_every_name_verbatim(pipeline: Pipeline) -> None:
    names = pipeline.user_names()
    review = {
        (s, a): n
        for s, a, n in pipeline.rows("select system, account_id, name from evidence.access_review")
    }
    assert {k: review.get(k) for k in names} == names

    flows = pipeline.rows(
        "select from_type, from_id, from_name, to_type, to_id, to_name from evidence.data_flows"
    )
    shown = {
        (t, i): n for ft, fi, fn, tt, ti, tn in flows for t, i, n in ((ft, fi, fn), (tt, ti, tn))
    }
    kinds = {
        ("segment", "sources"): "source",
        ("segment", "destinations"): "destination",
        ("fivetran", "connections"): "connection",
        ("fivetran", "groups"): "destination",
    }
    want = {
        (kind, r.object_id): r.name
        for (api, coll), kind in kinds.items()
        for r in pipeline.renamed_in(api, coll)
    }
    assert {k: shown.get(k) for k in want} == want

    # The renames between the runs are configuration changes, hostile "after" values verbatim.
    changed = {
        (t, i): (a, n)
        for t, i, a, n in pipeline.rows(
            "select object_type, object_id, after, object_name from evidence.config_changes "
            "where system = 'segment' and field = 'name' and change = 'changed'"
        )
    }
    want_changes = {
        (kind, r.object_id): (r.name, r.name)
        for coll, kind in (("sources", "source"), ("destinations", "destination"))
        for r in pipeline.renamed_in("segment", coll)
    }
    assert changed == want_changes


# --- the page runs none of it -----------------------------------------------------------------


@pytest.fixture(scope="module")
def browser(pipeline: Pipeline) -> Iterator[Any]:
    """Headless Chromium on the pack's index.html (file://), alert() recorded, not shown."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail("Debian's chromium and chromium-driver are needed (apt-get install ...)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"):
        opts.add_argument(arg)
    opts.add_argument("--window-size=1400,1000")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    drv = webdriver.Chrome(options=opts, service=Service(executable_path=str(CHROMEDRIVER)))
    drv.set_page_load_timeout(60)
    # Before any of the page's own code: a dialog would run as window.__dialogs, not block.
    drv.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument",
        {
            "source": "window.__dialogs = [];"
            "['alert', 'confirm', 'prompt'].forEach(function (f) {"
            "  window[f] = function (m) { window.__dialogs.push(f + ':' + m); }; });"
        },
    )
    try:
        drv.get((pipeline.pack / "index.html").as_uri())
        drv.find_element("css selector", "#exports")
        yield drv
    finally:
        drv.quit()


def text_of(drv: Any, selector: str) -> list[str]:
    """textContent (not Selenium's whitespace-folded .text) of every match."""
    return list(
        drv.execute_script(
            "return Array.from(document.querySelectorAll(arguments[0]))"
            ".map(function (e) { return e.textContent; });",
            selector,
        )
    )


def test_page_runs_no_injected_markup(browser: Any) -> None:
    state = browser.execute_script(
        "var on = [];"
        "document.querySelectorAll('*').forEach(function (el) {"
        "  Array.from(el.attributes).forEach(function (a) {"
        "    if (/^on/i.test(a.name)) { on.push(el.tagName + ' ' + a.name); } }); });"
        "return {dialogs: window.__dialogs, title: document.title, on: on,"
        " scripts: document.querySelectorAll('script').length,"
        " embedded: document.querySelectorAll("
        "   'img, iframe, object, embed, foreignObject, image').length};"
    )
    assert state == {
        "dialogs": [],
        "title": PAGE_TITLE,
        "on": [],
        "scripts": 1,  # the page's own
        "embedded": 0,
    }
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert errors == []


def test_page_shows_every_name_as_text(browser: Any, pipeline: Pipeline) -> None:
    cells = text_of(browser, '#access-review td[data-col-key="name"]')
    for name in pipeline.user_names().values():
        assert in_html(name) in cells, name[:40]
    flow_cells = text_of(browser, '#flow-table td[data-col-key="from"]') + text_of(
        browser, '#flow-table td[data-col-key="to"]'
    )
    for r in pipeline.renamed:
        if r.collection in {"sources", "destinations", "connections", "groups"}:
            assert any(c.startswith(in_html(r.name) + " (") for c in flow_cells), r.name[:40]


# --- the SVG stays well-formed, with only its own nodes ---------------------------------------


def inline_svg(pack: Path) -> str:
    html = (pack / "index.html").read_text(encoding="utf-8")
    start = html.index('<svg class="flows"')
    return html[start : html.index("</svg>", start) + len("</svg>")]


def test_svg_is_well_formed_with_only_the_flows_nodes(pipeline: Pipeline, browser: Any) -> None:
    root = ET.fromstring(inline_svg(pipeline.pack))  # raises on anything not well-formed XML
    tags = {el.tag.removeprefix(SVG_NS) for el in root.iter()}
    assert not tags & {"script", "img", "image", "foreignObject", "iframe"}, tags
    # Graphviz wraps tooltips in <a xlink:title>; no link, no handler may come from a name.
    attrs = [a.rsplit("}", 1)[-1].lower() for el in root.iter() for a in el.attrib]
    assert [a for a in attrs if a.startswith("on") or a == "href"] == []

    flows = pipeline.rows(
        "select distinct system, tenant_id, from_type, from_id, to_type, to_id "
        "from evidence.data_flows"
    )
    want_nodes = {f"node|{s}|{t}|{ft}|{fi}" for s, t, ft, fi, _, _ in flows} | {
        f"node|{s}|{t}|{tt}|{ti}" for s, t, _, _, tt, ti in flows
    }
    nodes = {g.get("id"): g for g in root.iter(f"{SVG_NS}g") if g.get("class") == "node"}
    assert set(nodes) == want_nodes
    titles = [g.find(f"{SVG_NS}title") for g in nodes.values()]
    assert all(t is not None and re.fullmatch(r"n\d+", t.text or "") for t in titles)
    edges = [g for g in root.iter(f"{SVG_NS}g") if (g.get("class") or "").startswith("edge")]
    assert len(edges) == len(flows)
    # The browser's HTML parser reads the same nodes as the XML parser.
    assert browser.execute_script(
        "return document.querySelectorAll('#flow-diagram svg g.node').length"
    ) == len(want_nodes)

    kinds = {"sources": "source", "destinations": "destination", "connections": "connection"}
    tenants = {(s, fi): t for s, t, _, fi, _, _ in flows} | {
        (s, ti): t for s, t, _, _, _, ti in flows
    }
    for r in pipeline.renamed:
        kind = "destination" if r.collection == "groups" else kinds.get(r.collection)
        if kind is None:
            continue
        node = nodes[f"node|{r.api}|{tenants[r.api, r.object_id]}|{kind}|{r.object_id}"]
        text = "".join(t.text or "" for t in node.iter(f"{SVG_NS}text"))
        assert text.startswith(r.name), (r.name[:40], text[:60])


# --- no CSV cell starts a formula -------------------------------------------------------------


def read_csv(path: Path) -> list[list[str]]:
    """Rows as a spreadsheet import sees them (CR inside quoted cells kept)."""
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.reader(fh))


def test_no_csv_cell_starts_a_formula(pipeline: Pipeline) -> None:
    files = sorted(pipeline.pack.rglob("*.csv"))
    assert {p.parent.name for p in files} == {"vanta", "drata", "tables"}
    live = [
        (p.relative_to(pipeline.pack).as_posix(), c[:40])
        for p in files
        for row in read_csv(p)
        for c in row
        if c.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(c)
    ]
    assert live == []


def test_csv_files_hold_the_names_quoted_where_they_would_run(pipeline: Pipeline) -> None:
    pack = pipeline.pack
    status = {
        (s, a): st
        for s, a, st in pipeline.rows(
            "select system, account_id, status from evidence.access_review"
        )
    }
    names = pipeline.user_names()
    ids = {n: k for k, n in names.items()}

    table = read_csv(pack / "tables" / "access_review.csv")
    col = {c: i for i, c in enumerate(table[0])}
    by_account = {(r[col["system"]], r[col["account_id"]]): r[col["name"]] for r in table[1:]}
    assert {k: by_account.get(k) for k in names} == {k: in_csv(n) for k, n in names.items()}

    reviewed = {k for k in names if status[k] in {"active", "inactive", "removed"}}
    assert reviewed, "no renamed account is in the Vanta/Drata files"
    for folder, column in (("vanta", "Account name"), ("drata", "Name")):
        found = set()
        for path in (pack / folder).glob("*.csv"):
            rows = read_csv(path)
            i = rows[0].index(column)
            found |= {r[i] for r in rows[1:]}
        missing = [ids[n] for n in (names[k] for k in reviewed) if in_csv(n) not in found]
        assert missing == [], folder

    flows = read_csv(pack / "tables" / "data_flows.csv")
    cells = {c for r in flows[1:] for c in r}
    for r in pipeline.renamed:
        if r.collection in {"sources", "destinations", "connections", "groups"}:
            assert in_csv(r.name) in cells, r.name[:40]

    changes = read_csv(pack / "tables" / "config_changes_since.csv")
    after = {r[changes[0].index("after")] for r in changes[1:]}
    for coll in ("sources", "destinations"):
        for r in pipeline.renamed_in("segment", coll):
            assert in_csv(r.name) in after, r.name[:40]
