"""`evidence-pack record-review` on real warehouses: a DuckDB file and a throw-away PostgreSQL
server (tests/pg_server.py), each filled with tests/evidence_fixture.py's marts, a real pack
built from it by the CLI, and decisions files written as a reviewer saves them.

A good review lands with its reviewer, time and the pack's manifest hash, verbatim however
hostile the names; every bad input is one line, exit status 2, and leaves the warehouse as it
was: no schema or table made before the first review, no row added after it. A write that fails
half-way (a constraint rejecting the second row) leaves nothing either.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import os
import shutil
import socket
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from pathlib import Path
from typing import Any

import pytest

from evidence_pack import cli
from taps_sandbox.base import SENTINEL
from taps_sandbox.hostile import BIDI, DOT_BREAKOUT, HYPERLINK, LONG, SCRIPT, TAB
from tests import evidence_fixture as fx
from tests import pg_server
from tests.access_review_flow import run_cli
from tests.review_helpers import write_decisions

ROOT = Path(__file__).resolve().parents[1]
PASSWORD_ENV = "EVIDENCE_TEST_PG_PASSWORD"
SQL_INJECTION = "Robert'); DROP TABLE evidence_reviews.access_decisions; --"
REVIEWER = f"{SCRIPT} {SQL_INJECTION}"
TABLE = "evidence_reviews.access_decisions"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Target:
    """A warehouse to record into, and plain queries to look at it."""

    name: str
    args: list[str]
    query: Callable[[str], list[tuple[Any, ...]]]
    env: dict[str, str] = field(default_factory=dict)

    def has(self, schema: str, table: str | None = None) -> bool:
        """Whether the schema (or the table in it) exists."""
        if table is None:
            sql = f"SELECT 1 FROM information_schema.schemata WHERE schema_name = '{schema}'"
        else:
            sql = (
                "SELECT 1 FROM information_schema.tables "
                f"WHERE table_schema = '{schema}' AND table_name = '{table}'"
            )
        return bool(self.query(sql))

    def decisions(self) -> list[dict[str, Any]] | None:
        """Every stored decision, None when there is no table."""
        if not self.has("evidence_reviews", "access_decisions"):
            return None
        cols = [
            "review_id",
            "access_key",
            "system",
            "tenant_id",
            "account_id",
            "email",
            "decision",
            "comment",
            "reviewer",
            "decided_at",
            "pack_sha256",
        ]
        rows = self.query(f"SELECT {', '.join(cols)} FROM {TABLE} ORDER BY decided_at, access_key")
        return [dict(zip(cols, r, strict=True)) for r in rows]

    def reset(self) -> None:
        """No review recorded: drop the reviews schema."""
        self.query("DROP SCHEMA IF EXISTS evidence_reviews CASCADE")

    def main(self, *args: str) -> tuple[int, str, str]:
        """The CLI's main in this process (fast, for the many bad inputs): status, out, err."""
        out, err = io.StringIO(), io.StringIO()
        old = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = cli.main([*args, *self.args])
                except SystemExit as exit_:  # argparse's own errors
                    code = int(exit_.code or 0)
        finally:
            for k, v in old.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        return code, out.getvalue(), err.getvalue()


def _duckdb_query(path: Path) -> Callable[[str], list[tuple[Any, ...]]]:
    import duckdb

    def query(sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(path)) as con:  # closed again: the CLI opens the file itself
            cur = con.execute(sql)
            return cur.fetchall() if cur.description else []

    return query


def _pg_query(dsn: str) -> Callable[[str], list[tuple[Any, ...]]]:
    import psycopg

    def query(sql: str) -> list[tuple[Any, ...]]:
        with psycopg.connect(dsn, autocommit=True) as con:
            cur = con.execute(sql)
            return cur.fetchall() if cur.description else []

    return query


@pytest.fixture(scope="module")
def postgres() -> Iterator[pg_server.PostgresServer]:
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
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def target(request, tmp_path_factory) -> Target:
    if request.param == "duckdb":
        path = fx.write_duckdb(
            tmp_path_factory.mktemp("wh") / "warehouse.duckdb",
            skip={"evidence_reviews.access_decisions"},
        )
        return Target("duckdb", ["--duckdb", str(path)], _duckdb_query(path))
    server = request.getfixturevalue("postgres")
    fx.write_postgres(server.dsn)
    target = Target(
        "postgres",
        [
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
        ],
        _pg_query(server.dsn),
        # Trust auth ignores it; set so the scans can prove it never shows.
        {PASSWORD_ENV: f"{SENTINEL}-pg-password"},
    )
    target.reset()
    return target


@pytest.fixture(scope="module")
def pack(target: Target, tmp_path_factory) -> Path:
    """The pack the reviews are made on, built by the real CLI from the target."""
    out = tmp_path_factory.mktemp(f"pack-{target.name}") / "evidence-pack"
    proc = run_cli(*target.args, "--out", str(out), "--now", fx.NOW.isoformat(), env=target.env)
    assert proc.returncode == 0, proc.stderr
    return out


def pack_rows(pack: Path) -> list[dict[str, str]]:
    with (pack / "tables" / "access_review.csv").open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def manifest_sha(pack: Path) -> str:
    return hashlib.sha256((pack / "manifest.json").read_bytes()).hexdigest()


def record(target: Target, pack: Path, decisions: Path, reviewer: str) -> tuple[int, str, str]:
    return target.main(
        "record-review",
        "--pack",
        str(pack),
        "--decisions",
        str(decisions),
        "--reviewer",
        reviewer,
    )


# --- the pack's CSV ---------------------------------------------------------------------------


def test_access_review_csv_ends_with_empty_decision_and_comment(pack: Path) -> None:
    with (pack / "tables" / "access_review.csv").open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][-2:] == ["decision", "comment"]
    assert rows[0][0] == "access_key"
    assert len(rows) == len(fx.ACCESS_REVIEW) + 1
    assert all(r[-2:] == ["", ""] for r in rows[1:])
    assert {r[0] for r in rows[1:]} == {
        f"{a['system']}|{a['tenant_id']}|{a['account_id']}" for a in fx.ACCESS_REVIEW
    }


# --- a good review ----------------------------------------------------------------------------


def test_records_each_decision_with_reviewer_time_and_pack_hash(
    target: Target, pack: Path, tmp_path: Path
) -> None:
    target.reset()
    rows = {r["access_key"]: r for r in pack_rows(pack)}
    niaj = "fivetran|acct-main|fu5"  # a name with markup in the pack
    revoke = {
        niaj: HYPERLINK,
        "segment|ws-alpha|u2": f"two lines\r\nof {SQL_INJECTION}",
        "fivetran|acct-main|fu4": LONG,
    }
    keep = {"segment|ws-alpha|u1": BIDI, "fivetran|acct-main|fu6": f" {TAB} "}
    filled = write_decisions(
        pack,
        tmp_path / "filled.csv",
        {
            **{k: ("Revoke", c) for k, c in revoke.items()},
            **{k: ("KEEP", c) for k, c in keep.items()},
        },
    )
    before = datetime.now(UTC).replace(tzinfo=None)
    proc = run_cli(
        "record-review",
        "--pack",
        str(pack),
        "--decisions",
        str(filled),
        "--reviewer",
        REVIEWER,
        *target.args,
        env=target.env,
    )
    after = datetime.now(UTC).replace(tzinfo=None)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    [line] = proc.stdout.splitlines()
    sha = manifest_sha(pack)
    assert line.startswith("recorded 2 keep and 3 revoke decision(s): review review-")
    assert line.endswith(f"pack manifest.json SHA-256 {sha}")
    assert SENTINEL not in proc.stdout + proc.stderr

    stored = target.decisions()
    assert stored is not None and len(stored) == 5
    [review_id] = {r["review_id"] for r in stored}
    assert review_id in line
    for r in stored:
        key = r["access_key"]
        assert r["decision"] == ("revoke" if key in revoke else "keep")
        assert r["comment"] == {**revoke, **keep}[key]  # verbatim: CRLF, formula, 10,000 chars
        assert r["reviewer"] == REVIEWER
        assert r["pack_sha256"] == sha
        assert before <= r["decided_at"].replace(tzinfo=None) <= after
        # Who the account is comes from the pack, as the reviewer saw it.
        assert (r["system"], r["tenant_id"], r["account_id"], r["email"]) == (
            rows[key]["system"],
            rows[key]["tenant_id"],
            rows[key]["account_id"],
            rows[key]["email"],
        )
    assert target.has("evidence", "access_review"), "the injection ran"

    # A second review appends, under its own id.
    again = write_decisions(pack, tmp_path / "again.csv", {niaj: ("keep", "fine now")})
    code, out, err = record(target, pack, again, "Sam")
    assert (code, err) == (0, ""), err
    assert out.startswith("recorded 1 keep and 0 revoke decision(s)")
    stored = target.decisions()
    assert stored is not None and len(stored) == 6
    assert len({r["review_id"] for r in stored}) == 2

    # The next pack shows the last review: who signed it, on which pack, and what it decided.
    out_dir = tmp_path / "next-pack"
    proc = run_cli(*target.args, "--out", str(out_dir), "--now", fx.NOW.isoformat(), env=target.env)
    assert proc.returncode == 0, proc.stderr
    html = (out_dir / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section id="review">') :]
    section = section[: section.index("</section>")]
    assert 'data-testid="review-reviewer">Sam<' in section
    assert f'data-testid="review-pack">{sha}<' in section
    assert 'data-testid="review-keep">1<' in section
    assert 'data-testid="review-revoke">0<' in section


def test_the_whole_filled_in_file_or_three_columns_both_work(
    target: Target, pack: Path, tmp_path: Path
) -> None:
    """Only access_key, decision and comment are read; any order, other columns ignored, rows
    without a decision skipped; a semicolon-separated save and a BOM are fine."""
    target.reset()
    short = tmp_path / "short.csv"
    short.write_bytes(
        "\ufeffcomment;Decision;ACCESS_KEY;extra\r\n"
        ";;segment|ws-alpha|u3;x\r\n"
        "gone;revoke;segment|ws-alpha|u3;y\r\n".encode()
    )
    code, out, err = record(target, pack, short, "Rita")
    assert (code, err) == (0, ""), err
    assert out.startswith("recorded 0 keep and 1 revoke decision(s)")
    stored = target.decisions()
    assert stored is not None
    assert [(r["access_key"], r["decision"], r["comment"]) for r in stored] == [
        ("segment|ws-alpha|u3", "revoke", "gone")
    ]


# --- bad input: one line, exit 2, nothing written ---------------------------------------------


def bad_inputs(tmp: Path, pack: Path) -> list[tuple[str, list[str], tuple[str, ...]]]:
    """(case, the record-review arguments, what the one line must say)."""
    keys = [r["access_key"] for r in pack_rows(pack)]

    def text(name: str, body: str | bytes) -> str:
        path = tmp / name
        if isinstance(body, str):
            path.write_text(body, encoding="utf-8", newline="")
        else:
            path.write_bytes(body)
        return str(path)

    def pack_copy(name: str, change: Callable[[Path], None]) -> str:
        copy = tmp / name
        shutil.copytree(pack, copy)
        change(copy)
        return str(copy)

    def unlist(folder: Path) -> None:
        doc = json.loads((folder / "manifest.json").read_text())
        doc["files"] = [f for f in doc["files"] if f["path"] != "tables/access_review.csv"]
        (folder / "manifest.json").write_text(json.dumps(doc))

    good = str(write_decisions(pack, tmp / "good.csv", {keys[0]: ("revoke", "x")}))
    header = "access_key,decision,comment\r\n"
    cases: list[tuple[str, str, str, str, tuple[str, ...]]] = [
        # (case, pack, decisions, reviewer, expected)
        (
            "unknown access_key",
            str(pack),
            text("unknown.csv", f"{header}{keys[0]},keep,\r\nsegment|nope|x,revoke,\r\n"),
            "Rita",
            ("line 3", "'segment|nope|x'", "not in the pack"),
        ),
        (
            "unknown decision",
            str(pack),
            text("maybe.csv", f"{header}{keys[0]},keep,\r\n{keys[1]},Maybe later,\r\n"),
            "Rita",
            ("line 3", "'Maybe later'", "neither keep nor revoke"),
        ),
        (
            "binary",
            str(pack),
            text("image.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))),
            "Rita",
            ("not a CSV text file",),
        ),
        (
            "not UTF-8",
            str(pack),
            text("latin1.csv", f"{header}{keys[0]},keep,caf\xe9\r\n".encode("latin-1")),
            "Rita",
            ("not a CSV text file", "UTF-8"),
        ),
        ("empty file", str(pack), text("empty.csv", ""), "Rita", ("no header line",)),
        ("blank lines", str(pack), text("blank.csv", "\r\n\r\n"), "Rita", ("no header line",)),
        (
            "no access_key column",
            str(pack),
            text("nokey.csv", "email,decision\r\nalice@example.com,keep\r\n"),
            "Rita",
            ("no access_key column",),
        ),
        (
            "no decision column",
            str(pack),
            text("nodecision.csv", f"access_key,comment\r\n{keys[0]},ok\r\n"),
            "Rita",
            ("no decision column",),
        ),
        (
            "no decision at all",
            str(pack),
            str(write_decisions(pack, tmp / "none.csv", {})),
            "Rita",
            ("holds no decision",),
        ),
        (
            "twice the same account",
            str(pack),
            text("twice.csv", f"{header}{keys[0]},keep,\r\n{keys[0]},revoke,\r\n"),
            "Rita",
            ("line 3", "line 2"),
        ),
        (
            "decision without access_key",
            str(pack),
            text("nokeyvalue.csv", f"{header},revoke,\r\n"),
            "Rita",
            ("line 2", "without an access_key"),
        ),
        (
            "broken quoting",
            str(pack),
            text("quotes.csv", f'{header}{keys[0]},keep,"a"b"\r\n'),
            "Rita",
            ("not valid CSV",),
        ),
        ("missing decisions file", str(pack), str(tmp / "nope.csv"), "Rita", ("not found",)),
        ("missing pack", str(tmp / "no-pack"), good, "Rita", ("--pack", "not a folder")),
        (
            "pack without manifest",
            pack_copy("nomanifest", lambda p: (p / "manifest.json").unlink()),
            good,
            "Rita",
            ("no manifest.json",),
        ),
        (
            "manifest not listing the CSV",
            pack_copy("unlisted", unlist),
            good,
            "Rita",
            ("does not list tables/access_review.csv",),
        ),
        (
            "edited pack",
            pack_copy(
                "edited",
                lambda p: (p / "tables" / "access_review.csv").write_text(
                    (p / "tables" / "access_review.csv").read_text() + "x\r\n"
                ),
            ),
            good,
            "Rita",
            ("SHA-256", "edited"),
        ),
        (
            "the pack's own file",
            str(pack),
            str(pack / "tables" / "access_review.csv"),
            "Rita",
            ("a copy outside the pack",),
        ),
        ("empty reviewer", str(pack), good, "", ("--reviewer is empty",)),
        ("blank reviewer", str(pack), good, "  \t", ("--reviewer is empty",)),
    ]
    return [
        (case, ["--pack", p, "--decisions", d, "--reviewer", who], want)
        for case, p, d, who, want in cases
    ]


def assert_one_line(case: str, result: tuple[int, str, str], want: tuple[str, ...]) -> None:
    code, out, err = result
    assert code == 2, (case, out, err)
    assert out == "", case
    lines = err.splitlines()
    assert len(lines) == 1, (case, err)
    assert lines[0].startswith("evidence-pack: "), (case, err)
    assert "Traceback" not in err, case
    for part in want:
        assert part in lines[0], (case, part, lines[0])
    assert SENTINEL not in err


def test_bad_input_is_one_line_and_writes_nothing(
    target: Target, pack: Path, tmp_path: Path
) -> None:
    target.reset()
    cases = bad_inputs(tmp_path, pack)
    for case, args, want in cases:
        assert_one_line(case, target.main("record-review", *args), want)
    assert not target.has("evidence_reviews"), "no schema before the first review"

    first = write_decisions(pack, tmp_path / "first.csv", {"segment|ws-alpha|u1": ("keep", "")})
    assert record(target, pack, first, "Rita")[0] == 0
    stored = target.decisions()
    assert stored is not None and len(stored) == 1
    for case, args, want in cases:
        assert_one_line(case, target.main("record-review", *args), want)
    assert target.decisions() == stored


def test_a_failed_write_leaves_nothing(target: Target, pack: Path, tmp_path: Path) -> None:
    """All rows or none: a constraint rejecting the second row takes the first one back too;
    a table of the same name that record-review did not make is left alone."""
    target.reset()
    target.query("CREATE SCHEMA evidence_reviews")
    target.query(
        f"CREATE TABLE {TABLE} (review_id TEXT, access_key TEXT, system TEXT, tenant_id TEXT, "
        "account_id TEXT, email TEXT, decision TEXT, comment TEXT, reviewer TEXT, "
        "decided_at TIMESTAMP, pack_sha256 TEXT, "
        "CHECK (access_key <> 'segment|ws-alpha|u2'))"
    )
    both = write_decisions(
        pack,
        tmp_path / "both.csv",
        {"segment|ws-alpha|u1": ("keep", ""), "segment|ws-alpha|u2": ("revoke", "")},
    )
    assert_one_line("constraint", record(target, pack, both, "Rita"), ("nothing was written",))
    assert target.decisions() == []

    target.reset()
    target.query("CREATE SCHEMA evidence_reviews")
    target.query(f"CREATE TABLE {TABLE} (review_id TEXT, note TEXT)")
    assert_one_line(
        "foreign table",
        record(target, pack, both, "Rita"),
        ("lacks column(s) access_key", "not made by evidence-pack record-review"),
    )
    assert target.query(f"SELECT count(*) FROM {TABLE}") == [(0,)]
    target.reset()


def test_an_unreachable_warehouse_is_one_line(pack: Path, tmp_path: Path) -> None:
    good = write_decisions(pack, tmp_path / "good.csv", {"segment|ws-alpha|u1": ("keep", "")})
    base = ["record-review", "--pack", str(pack), "--decisions", str(good), "--reviewer", "R"]
    proc = run_cli(*base, "--duckdb", str(tmp_path / "nope.duckdb"))
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "nope.duckdb not found" in proc.stderr
    assert not (tmp_path / "nope.duckdb").exists()
    proc = run_cli(
        *base,
        "--pg-host",
        "127.0.0.1",
        "--pg-port",
        str(free_port()),
        "--pg-user",
        "u",
        "--pg-database",
        "d",
    )
    assert proc.returncode == 2 and len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "cannot connect" in proc.stderr


# --- the command line -------------------------------------------------------------------------


def test_help_names_the_command_and_its_options() -> None:
    proc = run_cli("record-review", "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: evidence-pack record-review")
    for option in ("--pack", "--decisions", "--reviewer", "--duckdb", "--pg-host"):
        assert option in proc.stdout
    top = run_cli("--help")
    assert top.returncode == 0 and "record-review" in top.stdout


def test_command_line_errors_stay_one_line_without_values() -> None:
    proc = run_cli("record-review", "--pack", "p")
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert "--decisions" in line and "--reviewer" in line
    proc = run_cli(
        "record-review",
        "--pg-password",
        f"{SENTINEL}-pw",
        *("--pack", "p", "--decisions", "d.csv", "--reviewer", "R"),
    )
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert "--pg-password" in line and SENTINEL not in line
    # Without the command, the options write the pack exactly as before.
    proc = run_cli("--pg-password", f"{SENTINEL}-pw", "--pg-host", "127.0.0.1")
    [line] = proc.stderr.splitlines()
    assert line == "evidence-pack: unknown option --pg-password (see --help)"


def test_reviewer_markup_is_escaped_on_the_page(target: Target, pack: Path, tmp_path) -> None:
    """The pack built after a review names the reviewer as text, never as markup."""
    target.reset()
    filled = write_decisions(
        pack, tmp_path / "f.csv", {"segment|ws-alpha|u2": ("revoke", DOT_BREAKOUT)}
    )
    assert record(target, pack, filled, SCRIPT)[0] == 0
    out_dir = tmp_path / "pack"
    proc = run_cli(*target.args, "--out", str(out_dir), "--now", fx.NOW.isoformat(), env=target.env)
    assert proc.returncode == 0, proc.stderr
    html = (out_dir / "index.html").read_text(encoding="utf-8")
    assert SCRIPT not in html
    assert f'data-testid="review-reviewer">{escape(SCRIPT)}<' in html
    target.reset()
