"""`make report` on a machine without Graphviz: the pack is still whole. The real CLI runs on the
fixture warehouse with PATH set to an empty folder (so no `dot`), and once with the machine's
PATH (Graphviz installed, as .ci/run does): both packs hold the same files, every file hashed
in the manifest; without Graphviz the page says so in one line and lists every flow in its
table; with it the picture is there and the line is not."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest

from evidence_pack.diagram import GRAPHVIZ_MISSING
from tests import evidence_fixture as fx

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-12-01T12:00:00Z"


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return fx.write_duckdb(tmp_path_factory.mktemp("wh") / "warehouse.duckdb")


def pack(warehouse: Path, out: Path, path_env: str) -> subprocess.CompletedProcess[str]:
    """`python -m evidence_pack` with the given PATH (the interpreter is named in full)."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "evidence_pack",
            "--duckdb",
            str(warehouse),
            "--out",
            str(out),
            "--now",
            NOW,
        ],
        cwd=ROOT,
        env={**os.environ, "PATH": path_env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        stdin=subprocess.DEVNULL,
    )


class FlowTable(HTMLParser):
    """The rows of `<table id="flow-table">`, each a list of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self._in_table = False
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", "flow-table") in attrs:
            self._in_table = True
        elif self._in_table and tag == "tr":
            self.rows.append([])
        elif self._in_table and tag == "td":
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self._in_table = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append("".join(self._cell).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)


def flows_in(warehouse: Path) -> set[tuple[str, str, str, str]]:
    """(system, tenant, from, to) of every edge in the mart, as the table shows them."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select system, tenant_id, coalesce(from_name, from_id), from_type, "
            "coalesce(to_name, to_id), to_type from evidence.data_flows"
        ).fetchall()
    return {(s, t, f"{fn} ({ft})", f"{tn} ({tt})") for s, t, fn, ft, tn, tt in rows}


def files_of(out: Path) -> dict[str, bytes]:
    return {p.relative_to(out).as_posix(): p.read_bytes() for p in out.rglob("*") if p.is_file()}


def assert_whole(out: Path) -> None:
    """Every file the manifest lists is there with its hash, and nothing else is."""
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    listed = {f["path"]: f["sha256"] for f in manifest["files"]}
    on_disk = files_of(out)
    assert set(listed) == set(on_disk) - {"manifest.json"}
    for path, digest in listed.items():
        assert hashlib.sha256(on_disk[path]).hexdigest() == digest, path
    assert "index.html" in listed
    assert any(p.startswith("vanta/") for p in listed) and any(
        p.startswith("drata/") for p in listed
    )


def test_pack_without_graphviz_is_whole_and_says_so(warehouse: Path, tmp_path: Path) -> None:
    empty = tmp_path / "bin"
    empty.mkdir()
    out = tmp_path / "pack"
    done = pack(warehouse, out, str(empty))
    assert done.returncode == 0, done.stderr
    assert_whole(out)
    page = (out / "index.html").read_text("utf-8")
    assert GRAPHVIZ_MISSING in page.replace("&#x27;", "'")
    assert page.count('data-testid="graphviz-missing"') == 1
    assert "<svg" not in page
    # The one line on stderr too, where a user running `make report` sees it.
    assert [line for line in done.stderr.splitlines() if "Graphviz" in line] == [
        f"evidence-pack: {GRAPHVIZ_MISSING}"
    ]
    table = FlowTable()
    table.feed(page)
    rows = [row for row in table.rows if row]  # the header row has no <td>
    shown = {tuple(row[:4]) for row in rows}
    expected = flows_in(warehouse)
    assert len(rows) == len(expected)
    assert shown == expected


def test_same_pack_with_graphviz_draws_the_picture(warehouse: Path, tmp_path: Path) -> None:
    if shutil.which("dot") is None:
        pytest.fail("Graphviz `dot` is not installed: apt-get install graphviz (.ci/run does)")
    drawn = tmp_path / "drawn"
    done = pack(warehouse, drawn, os.environ["PATH"])
    assert done.returncode == 0, done.stderr
    assert_whole(drawn)
    page = (drawn / "index.html").read_text("utf-8")
    assert '<svg class="flows"' in page
    assert "graphviz-missing" not in page and "Graphviz" not in done.stderr
    plain = tmp_path / "plain"
    empty = tmp_path / "bin"
    empty.mkdir()
    assert pack(warehouse, plain, str(empty)).returncode == 0
    assert set(files_of(plain)) == set(files_of(drawn)), "the same files with or without dot"


def flow_rows(count: int) -> list[dict[str, str]]:
    """``count`` distinct Segment source -> destination flows, each listed twice (the mart
    repeats an edge per table), as data_flows rows."""
    rows = []
    for n in range(count):
        row = {
            "system": "segment",
            "tenant_id": "ws1",
            "from_type": "source",
            "from_id": f"src{n}",
            "from_name": f"Source {n}",
            "to_type": "destination",
            "to_id": f"dst{n % 7}",
            "to_name": f"Destination {n % 7}",
            "status": "active",
        }
        rows += [row, dict(row)]
    return rows


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz (.ci/run installs it)")
def test_a_large_account_gets_one_line_instead_of_a_picture() -> None:
    """Graphviz's layout time grows faster than the flows (a large account's timed out and
    failed the pack): above MAX_DRAWN_FLOWS distinct flows the page says so in one line, dot
    is not asked, and the flows table (always there) carries them all; at the limit the
    picture is drawn."""
    from evidence_pack.diagram import MAX_DRAWN_FLOWS, flows_picture

    many = flows_picture(flow_rows(MAX_DRAWN_FLOWS + 1))
    assert 'data-testid="flows-not-drawn"' in many and "<svg" not in many
    assert f"{MAX_DRAWN_FLOWS + 1:,} flows are too many to draw" in many
    drawn = flows_picture(flow_rows(MAX_DRAWN_FLOWS))
    assert drawn.startswith('<svg class="flows"') and "flows-not-drawn" not in drawn
    assert drawn.count('id="flow|') == MAX_DRAWN_FLOWS
