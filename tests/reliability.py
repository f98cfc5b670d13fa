"""The README's reliability table, made from the test run instead of typed in.

Each row names what is tested and the tests that test it (a file, and the test functions in it,
or every test of the file). As a pytest plugin (loaded by tests/conftest.py) this module counts
the cases each row collected and how they ended; when a run has run every case of every row it
writes the table (``RELIABILITY_TABLE`` or ``output/reliability.md``) and shows it in the
terminal summary. ``python scripts/reliability_table.py --write-readme`` runs those tests and
puts the table into the README between the markers below; tests/test_reliability_table.py fails
when the README's rows or counts differ from what is collected.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
START = "<!-- reliability-table:start (scripts/reliability_table.py writes this) -->"
END = "<!-- reliability-table:end -->"
HEADER = ("| what is tested | where | cases | result |", "|---|---|---|---|")


@dataclass(frozen=True)
class Row:
    """One line of the table: a claim and the tests that check it."""

    what: str
    file: str  # tests/....py
    tests: tuple[str, ...] = ()  # test function names; () = every test of the file

    def holds(self, nodeid: str) -> bool:
        """Whether a collected test (``file::name[params]``) belongs to this row."""
        path, _, name = nodeid.partition("::")
        if path != self.file:
            return False
        return not self.tests or name.split("[", 1)[0] in self.tests


ROWS = (
    Row(
        "20% of requests answered 429/500/502/503, connections reset or timing out, slow pages; "
        "both taps, default streams: same key sets as a clean run, no duplicates",
        "tests/test_faults.py",
        ("test_faults_change_nothing_in_the_output",),
    ),
    Row(
        "responses that break the promise (invalid JSON, list key missing, repeated cursor, HTML "
        "proxy page, 200 with an error envelope), both taps: the stream ends with one line naming "
        "path and status, the run exits non-zero, bounded time, no traceback",
        "tests/test_faults.py",
        ("test_broken_responses_end_the_run_with_path_and_status",),
    ),
    Row(
        "a run killed in the middle of `audit_events` / `connection_sync_history`, rerun with the "
        "last STATE: no gap, duplicates only within the lookback / from the bookmark",
        "tests/test_faults.py",
        (
            "test_killed_audit_run_resumes_without_gap",
            "test_killed_sync_history_run_resumes_without_gap",
        ),
    ),
    Row(
        "secrets: 5xx bodies that echo the request, rejected credentials, `--about`, "
        "`--discover`: no credential anywhere",
        "tests/test_faults.py",
        (
            "test_error_bodies_that_echo_the_request_never_leak",
            "test_wrong_credentials_never_leak",
            "test_about_and_discover_never_show_credentials",
        ),
    ),
    Row(
        "rate-limited API (429 above 40 req/s): run slows, loses nothing; with "
        "`max_requests_per_second` 35 (10% under) at most 2 429s",
        "tests/test_faults.py",
        ("test_rate_limited_api_slows_the_run_instead_of_failing",),
    ),
    Row(
        "retry loop: Fivetran `Retry-After` and Segment `msBeforeNext` / `X-RateLimit-Reset` "
        "waits measured against the backoff, 5xx exhaustion with path and status, timeouts and "
        "resets, a `Retry-After` beyond `max_retry_wait_seconds` fails fast, 403 not retried, "
        "bodies msgspec cannot hold, the environment's proxy (read once) still applied",
        "tests/sandbox/test_http_client.py",
    ),
    Row(
        "bad configuration (missing/empty credentials, unknown region, `page_size` out of "
        "1..1000, `max_concurrency` < 1, `http://` to a non-loopback host, `start_date` not a "
        "date), sync and `--test`, each pointed at the live sandbox: no request, one line; "
        "rejected credentials, `--about` settings, `--test` makes one request",
        "tests/test_bad_input.py",
    ),
    Row(
        "fuzzing: objects generated from each stream schema keep every field through the record "
        "path and validate (6 streams x 25 examples)",
        "tests/test_fuzz_records.py",
    ),
    Row(
        "the real example responses of `specs/examples/` replayed through each tap over HTTP: "
        "every item a record with every value, valid against its schema, timestamps RFC 3339; "
        "the 404/422/429 example bodies through the error path",
        "tests/test_examples.py",
    ),
)
FILES = tuple(dict.fromkeys(row.file for row in ROWS))


def rows_of(nodeid: str) -> list[Row]:
    """The rows a collected test belongs to (exactly one for a test of a row file)."""
    return [row for row in ROWS if row.holds(nodeid)]


def counts(nodeids: list[str]) -> dict[Row, int]:
    """Cases per row among collected test ids."""
    found: dict[Row, int] = dict.fromkeys(ROWS, 0)
    for nodeid in nodeids:
        for row in rows_of(nodeid):
            found[row] += 1
    return found


def unassigned(nodeids: list[str]) -> list[str]:
    """Tests of a row file that no row claims, or that two rows claim."""
    return [n for n in nodeids if n.split("::", 1)[0] in FILES and len(rows_of(n)) != 1]


def render(cases: dict[Row, int], results: dict[Row, str]) -> str:
    """The Markdown table."""
    lines = list(HEADER)
    for row in ROWS:
        lines.append(f"| {row.what} | `{row.file}` | {cases[row]} | {results[row]} |")
    return "\n".join(lines) + "\n"


def parse_readme(text: str) -> list[tuple[str, str, int, str]]:
    """(what, where, cases, result) of each row between the README's markers."""
    if START not in text or END not in text:
        raise ValueError("README.md has no reliability-table markers")
    block = text.split(START, 1)[1].split(END, 1)[0]
    out = []
    for line in block.strip().splitlines():
        if line in HEADER:
            continue
        what, where, cases, result = (c.strip() for c in line.strip().strip("|").split(" | "))
        out.append((what, where.strip("`"), int(cases), result))
    return out


def replace_in_readme(text: str, table: str) -> str:
    """README text with the block between the markers replaced by ``table``."""
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"


# ----------------------------------------------------------------------------- the plugin

_collected: list[str] = []
_outcomes: dict[str, str] = {}


def pytest_collection_finish(session: pytest.Session) -> None:
    """Remember what this run will run (after -k/-m deselection)."""
    _collected[:] = [item.nodeid for item in session.items]


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A case fails if any phase fails; it passes if its call passed."""
    if report.failed:
        _outcomes[report.nodeid] = "failed"
    elif report.skipped and report.nodeid not in _outcomes:
        _outcomes[report.nodeid] = "skipped"
    elif report.when == "call" and report.passed:
        _outcomes.setdefault(report.nodeid, "passed")


def _results() -> tuple[dict[Row, int], dict[Row, str], bool]:
    cases = counts(_collected)
    by_row: dict[Row, list[str]] = defaultdict(list)
    for nodeid in _collected:
        for row in rows_of(nodeid):
            by_row[row].append(_outcomes.get(nodeid, "not run"))
    results: dict[Row, str] = {}
    for row in ROWS:
        seen = by_row[row]
        if not seen:
            results[row] = "not run"
        elif all(o == "passed" for o in seen):
            results[row] = "pass"
        else:
            bad = sum(o != "passed" for o in seen)
            results[row] = f"FAIL ({bad} of {len(seen)})"
    complete = all(by_row[row] for row in ROWS) and all(
        o != "not run" for v in by_row.values() for o in v
    )
    return cases, results, complete


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Show and write the table when every row's cases ran; one line otherwise."""
    if not any(rows_of(n) for n in _collected):
        return
    cases, results, complete = _results()
    if not complete or unassigned(_collected):
        ran = sum(results[row] != "not run" for row in ROWS)
        terminalreporter.write_line(
            f"reliability table: partial run ({ran} of {len(ROWS)} rows), not written"
        )
        return
    table = render(cases, results)
    target = Path(os.environ.get("RELIABILITY_TABLE") or ROOT / "output" / "reliability.md")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(table, encoding="utf-8")
    terminalreporter.section("reliability table (README)")
    terminalreporter.write(table)
    terminalreporter.write_line(f"written to {target}")
