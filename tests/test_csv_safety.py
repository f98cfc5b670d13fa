"""CSV files a reviewer opens in a spreadsheet run no formula, whatever the names hold.

Fast and without Meltano: the neutralising function alone, then every CSV writer of the
evidence pack (Vanta, Drata, the full tables) on evidence whose every text field is a hostile
name, read back with Python's csv reader; and a scan of the project's sources proving no other
code writes CSV around the guard.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from evidence_pack.data import MART_COLUMNS, Evidence, Run, StreamResult, TenantRun, hygiene
from evidence_pack.exports import (
    FORMULA_STARTS,
    csv_text,
    drata_files,
    safe_cell,
    table_files,
    vanta_files,
)
from taps_sandbox import hostile as h

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
# A cell that may start with "-": a number written from a number type, nothing else.
PLAIN_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")


def read_csv(text: str) -> list[list[str]]:
    """Rows as a spreadsheet import sees them (CR inside quoted cells kept)."""
    return list(csv.reader(io.StringIO(text, newline="")))


def live_formulas(rows: list[list[str]]) -> list[str]:
    """Cells that start a formula and are not a plain number."""
    return [
        c
        for row in rows
        for c in row
        if c.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(c)
    ]


# --- the function -----------------------------------------------------------------------------


@pytest.mark.parametrize("text", [*h.FORMULA_NAMES, "=1+1", "-5", "-", "@", "+", "\t", "\r\n"])
def test_text_that_starts_a_formula_gets_a_quote(text: str) -> None:
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize(
    "text",
    ["", "plain", "a=b", "5-3", "'=already quoted", " =leading space", "<script>x</script>"],
)
def test_other_text_is_unchanged(text: str) -> None:
    assert safe_cell(text) == text


@pytest.mark.parametrize("value", [-5, 0, 7, -1.5, 2.0e-9, Decimal("-3.25"), True, False, None])
def test_numbers_booleans_and_none_pass_as_they_are(value: Any) -> None:
    assert safe_cell(value) is value


def test_other_objects_are_checked_as_their_text() -> None:
    class Named:
        def __str__(self) -> str:
            return "=cmd|' /C calc'!A0"

    assert safe_cell(Named()) == "'=cmd|' /C calc'!A0"
    assert safe_cell(datetime(2026, 1, 2, tzinfo=UTC)) == "2026-01-02 00:00:00+00:00"


def test_csv_text_quotes_formula_cells_and_keeps_the_rest_verbatim() -> None:
    names = list(h.HOSTILE_NAMES)
    rows = read_csv(csv_text(["=header", "n"], [[name, -5] for name in names]))
    assert rows[0] == ["'=header", "n"]
    assert [r[0] for r in rows[1:]] == ["'" + n if n in h.FORMULA_NAMES else n for n in names]
    assert {r[1] for r in rows[1:]} == {"-5"}  # an int stays a number
    assert live_formulas(rows) == []


# --- every writer -----------------------------------------------------------------------------


def hostile_evidence() -> Evidence:
    """Evidence whose every text field a workspace member could set holds a hostile name."""
    names = list(h.HOSTILE_NAMES)

    def name(i: int) -> str:
        return names[i % len(names)]

    access: list[dict[str, Any]] = []
    statuses = ["active", "inactive", "removed", "invited"]
    for i in range(len(names)):
        access.append(
            {
                "system": "segment" if i % 2 else "fivetran",
                "tenant_id": "tenant-1",
                "account_id": name(i + 1),
                "email": name(i + 2),
                "name": name(i),
                "roles": [name(i + 3), "Workspace Owner"],
                "status": statuses[i % 4],
                "is_privileged": i % 3 == 0,
                "created_at": NOW - timedelta(days=400),
                "last_login_at": NOW - timedelta(days=200),
                "first_seen_at": NOW - timedelta(days=100),
                "last_seen_at": NOW - timedelta(days=1),
                # Grants name resources (sources, groups, teams) anyone may name.
                "grants": f'Source Admin on source "{name(i + 4)}"',
                "last_activity_at": NOW - timedelta(days=5),
            }
        )
    changes = [
        {
            "change_id": f"change-{i}",
            "access_key": f"segment|tenant-1|{name(i)}",
            "seen_at": NOW - timedelta(hours=1),
            "system": "segment",
            "tenant_id": "tenant-1",
            "account_id": name(i),
            "email": name(i + 1),
            "change": "removed" if i % 2 else "role_changed",
            "resource": name(i + 2),
            "before": name(i + 3),
            "after": name(i + 4),
        }
        for i in range(len(names))
    ]
    config_cols = MART_COLUMNS["config_changes"]
    config = [
        {
            c: (NOW - timedelta(hours=1) if c == "seen_at" else name(i + j))
            for j, c in enumerate(config_cols)
        }
        for i in range(len(names))
    ]
    creds = [
        {
            "system": "fivetran",
            "tenant_id": "tenant-1",
            "credential_id": name(i + 1),
            "name": name(i),
            "kind": "system_key",
            "created_at": NOW - timedelta(days=300),
            "last_used_at": NOW - timedelta(days=120),
            "expires_at": None,
            "status": "active",
        }
        for i in range(len(names))
    ]
    flows = [
        {
            "system": "segment",
            "tenant_id": "tenant-1",
            "from_type": "source",
            "from_id": f"src-{i}",
            "from_name": name(i),
            "to_type": "destination",
            "to_id": f"dst-{i}",
            "to_name": name(i + 1),
            "tables_enabled": [name(i + 2), name(i + 3)],
            "tables_enabled_count": 2,
            "status": "active",
        }
        for i in range(len(names))
    ]
    streams = [
        StreamResult(f"stream_{i}", "tenant-1", "failed", -5, 3, name(i)) for i in range(len(names))
    ]
    run = Run(
        run_id=h.HYPERLINK,
        tap="tap-segment",
        tap_version="1.0",
        started_at=NOW - timedelta(hours=2),
        finished_at=NOW - timedelta(hours=1),
        status="complete",
        tenant_ids=["tenant-1"],
        settings_fingerprint=h.AT,
        selected_streams=[],
        streams=streams,
    )
    ev = Evidence(
        warehouse="test",
        now=NOW,
        since=NOW - timedelta(days=1),
        since_source="a test",
        runs=[run],
        tenant_runs=[TenantRun("tap-segment", "tenant-1", run, streams, None)],
        access_review=access,
        access_changes=changes,
        config_changes=config,
        config_columns=config_cols,
        credentials=creds,
        credential_columns=list(creds[0]),
        data_flows=flows,
        reconciliation=[
            {
                "run_id": name(i),
                "system": "segment",
                "tenant_id": name(i + 1),
                "stream": name(i + 2),
                "run_started_at": NOW - timedelta(hours=2),
                "manifest_records": -3,
                "manifest_keys": 3,
                "warehouse_records": 2,
                "keys_match": False,
                "status": "mismatch",
            }
            for i in range(len(names))
        ],
        # The roster's emails are typed by people too (HR); days as the mart's numeric.
        leavers=[
            {
                "email": name(i),
                "terminated_at": NOW - timedelta(days=3),
                "system": "fivetran",
                "tenant_id": name(i + 1),
                "account_id": name(i + 2),
                "status": "removed",
                "removed_at": NOW - timedelta(days=4),
                "days_to_removal": Decimal("-1.00"),
                "outcome": "removed_in_time",
            }
            for i in range(len(names))
        ],
        # Reviewers' names and comments are typed by people too (record-review).
        review_followup=[
            {
                "review_id": name(i),
                "access_key": f"segment|{name(i + 1)}|{name(i + 2)}",
                "system": "segment",
                "tenant_id": name(i + 1),
                "account_id": name(i + 2),
                "email": name(i + 3),
                "reviewer": name(i + 4),
                "decided_at": NOW - timedelta(days=3),
                "pack_sha256": "ab" * 32,
                "comment": name(i + 5),
                "status": "open",
                "done_at": None,
                "days_open": 3,
                "later_keep_at": None,
            }
            for i in range(len(names))
        ],
        # A request's fields come from Segment, but they reach a spreadsheet all the same.
        privacy=[
            {
                "request_key": f"segment|tenant-1|{name(i)}",
                "system": "segment",
                "tenant_id": "tenant-1",
                "regulation_id": name(i),
                "type": name(i + 1),
                "subject_type": name(i + 2),
                "subject_count": -1,
                "created_at": NOW - timedelta(days=40),
                "finished_at": None,
                "status": name(i + 3),
                "age_days": 40,
                "overdue": True,
                "still_listed": False,
                "first_seen_at": NOW - timedelta(days=39),
                "last_seen_at": NOW - timedelta(days=2),
            }
            for i in range(len(names))
        ],
    )
    ev.findings = hygiene(ev)
    return ev


WRITERS = {"vanta": vanta_files, "drata": drata_files, "tables": table_files}


@pytest.mark.parametrize("writer", sorted(WRITERS))
def test_every_writer_leaves_no_live_formula(writer: str) -> None:
    files = WRITERS[writer](hostile_evidence())
    assert files
    cells: list[str] = []
    for path, text in files.items():
        rows = read_csv(text)
        assert len(rows) > 1, path
        assert live_formulas(rows) == [], path
        cells += [c for row in rows for c in row]
    # Formula names arrive quoted, the others verbatim; none is lost on the way.
    for name in h.HOSTILE_NAMES:
        want = "'" + name if name in h.FORMULA_NAMES else name
        assert any(want in c for c in cells), (writer, name[:40])
    if writer == "tables":
        runs = read_csv(files["tables/last_complete_runs.csv"])
        assert {r[runs[0].index("records")] for r in runs[1:]} == {"-5"}


def test_every_table_file_is_covered() -> None:
    """Each table file with hostile input carries it quoted, not only some of them."""
    files = table_files(hostile_evidence())
    known = [
        "tables/access_changes_since.csv",
        "tables/access_review.csv",
        "tables/config_changes_since.csv",
        "tables/credential_findings.csv",
        "tables/data_flows.csv",
        "tables/last_complete_runs.csv",
        "tables/privacy_requests.csv",
        "tables/review_followup.csv",
        "tables/leaver_access.csv",
    ]
    assert set(known) <= set(files)
    for path in known:
        quoted = [c for row in read_csv(files[path]) for c in row if c.startswith("'")]
        assert quoted, path


# --- no writer around the guard ---------------------------------------------------------------

CSV_WRITING = re.compile(r"csv\.(writer|DictWriter)\(|\.to_csv\(|\bCOPY\b.*\bTO\b.*csv", re.I)


def test_no_other_code_writes_csv() -> None:
    """Every CSV the project writes goes through exports.csv_text, so through safe_cell."""
    found = []
    for folder in (
        "evidence_pack",
        "scripts",
        "benchmarks",
        "taps_sandbox",
        "taps_common",
        "tap_segment",
        "tap_fivetran",
        "tap_hr_roster",
    ):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for lineno, line in enumerate(path.read_text().splitlines(), 1):
                if CSV_WRITING.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{lineno}")
    assert len(found) == 1, found
    text = (ROOT / "evidence_pack" / "exports.py").read_text()
    body = text[text.index("def csv_text(") :]
    body = body[: body.index("\ndef ")]
    assert CSV_WRITING.search(body) and "safe_cell(" in body
