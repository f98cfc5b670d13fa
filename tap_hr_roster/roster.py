"""Reading the roster CSV: every problem a person can fix in the file is one line naming it.

The file is whatever HR or the IdP exports: a header line, then one row per person, with at
least the columns `email` and `terminated_at` (blank while employed; a date, taken as 00:00
UTC, or an ISO-8601 date-time, UTC unless it carries an offset). Column names match without
regard to case or surrounding spaces, and the file may use commas, semicolons or tabs (some
spreadsheet exports do). Only those two columns are kept: an HR export also carries names,
managers, addresses or pay, which the evidence does not need and the warehouse should not hold.
"""

from __future__ import annotations

import csv
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REQUIRED = ("email", "terminated_at")
DELIMITERS = (",", ";", "\t")
DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")
SHOWN_CHARS = 40  # a bad value is quoted in the error up to this length


class RosterError(Exception):
    """The roster file cannot be used as it is; the message says what to fix (one line)."""


def _shown(value: str) -> str:
    """A cell quoted in an error message, cut short and on one line."""
    text = value if len(value) <= SHOWN_CHARS else value[:SHOWN_CHARS] + "..."
    return repr(text)


def parse_terminated_at(value: str) -> str | None:
    """A terminated_at cell as an ISO-8601 UTC date-time; None when blank; ValueError when it is
    not a date. A date alone is 00:00 UTC that day; a date-time without an offset is UTC."""
    text = value.strip()
    if not text:
        return None
    if DATE_ONLY.fullmatch(text):
        moment = datetime.fromisoformat(text).replace(tzinfo=UTC)
    else:
        moment = datetime.fromisoformat(text)
        moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return moment.isoformat()


def _header(first_line: str, path: Path) -> tuple[str, list[str]]:
    """The delimiter that gives both required columns, and the header's names as written."""
    for delimiter in DELIMITERS:
        names = next(csv.reader([first_line], delimiter=delimiter), [])
        if all(n in {c.strip().lower() for c in names} for n in REQUIRED):
            return delimiter, names
    names = next(csv.reader([first_line]), [])
    found = {c.strip().lower() for c in names}
    missing = [n for n in REQUIRED if n not in found]
    shown = ", ".join(_shown(c) for c in names[:10]) or "none"
    raise RosterError(
        f"{path}: no {' or '.join(missing)} column in the header line (columns found: "
        f"{shown}): the first line must name the columns, with at least email and terminated_at"
    )


def read_roster(path: Path, read_at: str) -> list[dict[str, Any]]:
    """Every person of the roster as a record: email (verbatim), terminated_at, read_at."""
    if not path.exists():
        raise RosterError(
            f"{path}: no such file: export the roster there or point EVIDENCE_HR_ROSTER "
            "(setting path) at it"
        )
    if path.is_dir():
        raise RosterError(f"{path}: is a folder: EVIDENCE_HR_ROSTER must name the CSV file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise RosterError(
            f"{path}: not a CSV file (not UTF-8 text): export the roster as CSV (UTF-8)"
        ) from None
    except OSError as err:
        raise RosterError(f"{path}: cannot be read ({err.strerror or err})") from None
    if "\0" in text:
        raise RosterError(f"{path}: not a CSV file (binary data): export the roster as CSV")
    lines = text.splitlines(keepends=True)
    if not lines or not text.strip():
        raise RosterError(
            f"{path}: the file is empty: it needs a header line naming email and terminated_at"
        )
    delimiter, names = _header(lines[0], path)
    index: dict[str, int] = {}
    for i, name in enumerate(names):
        key = name.strip().lower()
        if key in REQUIRED and key in index:
            raise RosterError(f"{path}: the header names column {key} twice: keep one")
        index.setdefault(key, i)
    records: list[dict[str, Any]] = []
    first_seen: dict[str, int] = {}
    reader = csv.reader(lines[1:], delimiter=delimiter, strict=True)
    try:
        for row in reader:
            line = reader.line_num + 1  # the header is line 1
            if not any(cell.strip() for cell in row):
                continue  # a blank line
            email = row[index["email"]] if index["email"] < len(row) else ""
            raw_when = row[index["terminated_at"]] if index["terminated_at"] < len(row) else ""
            if not email.strip():
                raise RosterError(f"{path}: line {line}: email is empty: give every row an email")
            key = email.strip().lower()
            if key in first_seen:
                raise RosterError(
                    f"{path}: line {line}: email {_shown(email)} is listed twice (also on line "
                    f"{first_seen[key]}; emails match without regard to case): keep one row "
                    "per person"
                )
            first_seen[key] = line
            try:
                terminated_at = parse_terminated_at(raw_when)
            except ValueError:
                raise RosterError(
                    f"{path}: line {line}: terminated_at {_shown(raw_when)} is not a date: use "
                    "YYYY-MM-DD or an ISO-8601 date-time such as 2026-11-30T17:00:00Z, or leave "
                    "it blank while the person is employed"
                ) from None
            records.append({"email": email, "terminated_at": terminated_at, "read_at": read_at})
    except csv.Error as err:
        raise RosterError(
            f"{path}: not a CSV file (line {reader.line_num + 1}: {err}): export the roster as CSV"
        ) from None
    return records
