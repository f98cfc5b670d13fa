"""The README's reliability table is the one the tests produce: same rows, same case counts.

Counts come from collecting the row files in a fresh pytest (what `make test` would run), so a
test added, removed or parametrized differently fails here until the table is regenerated with
``python scripts/reliability_table.py --write-readme``.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests import reliability

README = reliability.ROOT / "README.md"
REGENERATE = "run `python scripts/reliability_table.py --write-readme`"


@pytest.fixture(scope="module")
def collected() -> list[str]:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--collect-only",
            "-q",
            "-p",
            "no:cacheprovider",
            *reliability.FILES,
        ],
        cwd=reliability.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    ids = [line for line in proc.stdout.splitlines() if "::" in line]
    assert ids, proc.stdout[-2000:]
    return ids


def test_every_test_of_a_row_file_belongs_to_one_row(collected):
    assert not reliability.unassigned(collected), reliability.unassigned(collected)


def test_readme_table_has_the_rows_and_counts_the_tests_have(collected):
    counts = reliability.counts(collected)
    expected = [(row.what, row.file, counts[row]) for row in reliability.ROWS]
    found = reliability.parse_readme(README.read_text(encoding="utf-8"))
    assert [(what, where, cases) for what, where, cases, _ in found] == expected, REGENERATE
    assert all(counts[row] > 0 for row in reliability.ROWS)


def test_readme_table_says_what_the_last_full_run_said():
    """The result column is copied from a run, so it is 'pass' only where every case passed."""
    found = reliability.parse_readme(README.read_text(encoding="utf-8"))
    for what, _, _, result in found:
        assert result == "pass" or result.startswith("FAIL ("), (what, result)


def test_table_round_trips_through_the_readme_markers():
    """What the script writes is what the test reads back (no drift in the format)."""
    cases = dict.fromkeys(reliability.ROWS, 3)
    results = dict.fromkeys(reliability.ROWS, "pass")
    table = reliability.render(cases, results)
    text = f"intro\n{reliability.START}\nold\n{reliability.END}\noutro\n"
    updated = reliability.replace_in_readme(text, table)
    assert updated.startswith("intro\n") and updated.endswith("outro\n")
    parsed = reliability.parse_readme(updated)
    assert [(w, f, c, r) for w, f, c, r in parsed] == [
        (row.what, row.file, 3, "pass") for row in reliability.ROWS
    ]
