"""tap-hr-roster as a user runs it (its console script, real files in a temporary folder):
a good file becomes one record per person with only email, terminated_at and read_at; no
path is a SCHEMA and no record, exit 0, and one line saying how to give a roster; each kind of
bad file is exit 2 with one error line naming the file and what to fix, nothing emitted.
"""

from __future__ import annotations

import csv
from datetime import UTC, datetime
from pathlib import Path

import pytest

from taps_sandbox.server import Sandbox
from tests.sandbox_roster import NO_ACCOUNT, sandbox_leavers, write_sandbox_roster
from tests.tap_runner import TapRun, discover, run_tap

ROOT = Path(__file__).resolve().parents[1]
TAP = "tap-hr-roster"
EXAMPLE = ROOT / "examples" / "hr_roster.csv"


def roster(tmp_path: Path, text: str | bytes, name: str = "roster.csv") -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def problem_lines(run: TapRun) -> list[str]:
    return [line for line in run.stderr.splitlines() if "ERROR" in line or "CRITICAL" in line]


def test_good_file_one_record_per_person(tmp_path: Path) -> None:
    path = roster(
        tmp_path,
        # A spreadsheet's export: byte-order mark, CRLF, other columns, header names in
        # another case, a quoted comma, a blank line, every accepted form of terminated_at.
        "\ufeffName,EMAIL , Terminated_At,Salary\r\n"
        '"Ng, Alice",Alice.Ng@Example.COM,2026-11-30,100\r\n'
        "Bob,bob@example.com,,200\r\n"
        "\r\n"
        "Eve,eve@example.com,2026-11-30T17:00:00+02:00,300\r\n"
        "Mallory,mallory@example.com,2026-11-30 08:15,400\r\n"
        'Zed,"=HYPERLINK(""x"")@example.com",2026-12-01T00:00:00Z,\r\n',
    )
    before = datetime.now(UTC)
    run = run_tap(TAP, {"path": str(path)})
    assert run.returncode == 0, run.stderr
    assert problem_lines(run) == []
    schema = run.schemas["roster"]
    assert schema["key_properties"] == ["email"]
    assert set(schema["schema"]["properties"]) == {"email", "terminated_at", "read_at"}
    records = run.records["roster"]
    assert [(r["email"], r["terminated_at"]) for r in records] == [
        ("Alice.Ng@Example.COM", "2026-11-30T00:00:00+00:00"),
        ("bob@example.com", None),
        ("eve@example.com", "2026-11-30T15:00:00+00:00"),
        ("mallory@example.com", "2026-11-30T08:15:00+00:00"),
        ('=HYPERLINK("x")@example.com', "2026-12-01T00:00:00+00:00"),
    ]
    assert all(set(r) == {"email", "terminated_at", "read_at"} for r in records)
    [read_at] = {r["read_at"] for r in records}  # one value for the whole run
    assert before <= datetime.fromisoformat(read_at) <= datetime.now(UTC)


def test_semicolons_and_tabs_are_read_too(tmp_path: Path) -> None:
    for sep in (";", "\t"):
        path = roster(tmp_path, f"email{sep}terminated_at\na@example.com{sep}2026-01-02\n")
        run = run_tap(TAP, {"path": str(path)})
        assert run.returncode == 0, run.stderr
        assert [r["terminated_at"] for r in run.records["roster"]] == ["2026-01-02T00:00:00+00:00"]


@pytest.mark.parametrize("config", [{}, {"path": ""}, {"path": "  "}])
def test_no_path_emits_the_schema_and_nothing_else(config: dict[str, str]) -> None:
    run = run_tap(TAP, config, env={"TAP_HR_ROSTER_PATH": ""})
    assert run.returncode == 0, run.stderr
    assert "roster" in run.schemas
    assert run.records["roster"] == []
    told = [line for line in run.stderr.splitlines() if "EVIDENCE_HR_ROSTER" in line]
    assert len(told) == 1, run.stderr
    assert "leaver_access stays empty until EVIDENCE_HR_ROSTER is set" in told[0]
    assert problem_lines(run) == []


def test_discover_and_about_need_no_file() -> None:
    catalog = discover(TAP, {})
    [entry] = catalog["streams"]
    assert entry["tap_stream_id"] == "roster" and entry["key_properties"] == ["email"]


GOOD_HEADER = "email,terminated_at\n"
BAD_FILES: dict[str, tuple[str | bytes | None, tuple[str, ...]]] = {
    # name: (file content, None = no file; words the one line must hold)
    "missing": (None, ("no such file", "EVIDENCE_HR_ROSTER")),
    "empty": ("", ("empty", "header line")),
    "blank": ("\n\n  \n", ("empty", "header line")),
    "spreadsheet": (b"PK\x03\x04\x14\x00\x06\x00\x08\x00\x00\x00!\x00\xb4\xff", ("not a CSV",)),
    "binary": (b"email,terminated_at\n\x00\x01\x02\n", ("not a CSV",)),
    "no_email": ("mail,terminated_at\nx@example.com,\n", ("no email column", "'mail'")),
    "no_terminated_at": ("email,left_on\nx@example.com,\n", ("no terminated_at column",)),
    "no_header": ("x@example.com,2026-01-01\n", ("no email or terminated_at column",)),
    "two_email_columns": ("email,Email,terminated_at\na@x.com,a@x.com,\n", ("email twice",)),
    "bad_date": (
        GOOD_HEADER + "a@example.com,2026-01-01\nb@example.com,last tuesday\n",
        ("line 3", "'last tuesday'", "YYYY-MM-DD"),
    ),
    "bad_month": (GOOD_HEADER + "a@example.com,2026-13-01\n", ("line 2", "'2026-13-01'")),
    "twice": (
        GOOD_HEADER + "a@example.com,\nb@example.com,\nA@Example.com ,2026-01-01\n",
        ("line 4", "listed twice", "line 2"),
    ),
    "empty_email": (GOOD_HEADER + "a@example.com,\n ,2026-01-01\n", ("line 3", "email is empty")),
    "broken_quotes": (GOOD_HEADER + 'a@example.com,"2026-01-01\n', ("not a CSV",)),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_one_line_naming_file_and_fix(tmp_path: Path, case: str) -> None:
    content, words = BAD_FILES[case]
    path = tmp_path / f"{case}.csv"
    if content is not None:
        roster(tmp_path, content, path.name)
    run = run_tap(TAP, {"path": str(path)})
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr + run.stdout
    lines = problem_lines(run)
    assert len(lines) == 1, run.stderr
    for word in (str(path), *words):
        assert word in lines[0], (word, lines[0])
    assert run.stdout.strip() == "", "a bad file must emit nothing"


def test_a_folder_is_not_a_roster(tmp_path: Path) -> None:
    run = run_tap(TAP, {"path": str(tmp_path)})
    assert run.returncode == 2
    [line] = problem_lines(run)
    assert str(tmp_path) in line and "folder" in line


def test_example_roster_matches_the_sandbox() -> None:
    """examples/hr_roster.csv (README, `make demo`) names the sandbox's people the helper
    does: the leaver step 1 removes late, the one removed before leaving, the one kept."""
    who = sandbox_leavers(Sandbox())
    with EXAMPLE.open(newline="", encoding="utf-8") as fh:
        rows = {r["email"].lower(): r["terminated_at"] for r in csv.DictReader(fh)}
    assert rows == {
        who.late: "2026-09-30",  # removed by step 1, long after leaving
        who.in_time: "2030-06-30",  # removed by step 1, before leaving
        who.still_active: "2026-10-15T17:30:00Z",
        who.employee: "",
        NO_ACCOUNT: "2026-03-31",
    }
    run = run_tap(TAP, {"path": str(EXAMPLE)})
    assert run.returncode == 0, run.stderr
    assert len(run.records["roster"]) == 5


def test_sandbox_roster_helper_writes_a_roster_the_tap_reads(tmp_path: Path) -> None:
    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    who = write_sandbox_roster(tmp_path / "r.csv", Sandbox(), now=now)
    run = run_tap(TAP, {"path": str(tmp_path / "r.csv")})
    assert run.returncode == 0, run.stderr
    got = {r["email"].lower(): r["terminated_at"] for r in run.records["roster"]}
    assert got[who.in_time] == "2026-12-01T12:00:00+00:00"
    assert got[who.late] == got[who.still_active] == "2026-11-21T12:00:00+00:00"
    assert got[who.employee] is None
    assert who.late.upper() in {r["email"] for r in run.records["roster"]}
