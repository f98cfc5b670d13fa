"""`evidence-pack record-review`: the decisions of a signed access review, kept in the warehouse.

An access review ends with a decision per account, keep or revoke, signed by a reviewer; the
next review must show that each revoke was carried out, so the decisions cannot stay in a
spreadsheet. The pack's tables/access_review.csv ends with two empty columns, decision and
comment; the reviewer fills them in a copy and records the copy with this command. Each
decision is stored with the reviewer, the time (UTC) and the SHA-256 of the pack's
manifest.json: that names exactly the pack the review was made on, and the manifest in turn
holds the SHA-256 of the CSV, checked here, so the pack cannot have been edited since. The dbt
model review_followup reads the decisions back and checks each revoke against the account
history.

Everything is checked before the warehouse is touched and the rows go in one transaction: bad
input is one line naming what to fix, and nothing is written. Names and comments are stored
verbatim and only ever passed as query parameters.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from evidence_pack import ReportError
from evidence_pack.data import DECISIONS_TABLE, REVIEWS_SCHEMA
from evidence_pack.exports import FORMULA_STARTS, sha256
from evidence_pack.warehouse import WritableWarehouse, quote_name

ACCESS_REVIEW_CSV = "tables/access_review.csv"
DECISIONS = ("keep", "revoke")
# The table's columns and their SQL type (the same words on DuckDB and PostgreSQL); times are
# naive UTC, as everywhere in the warehouse.
DECISION_COLUMNS = {
    "review_id": "TEXT",
    "access_key": "TEXT",
    "system": "TEXT",
    "tenant_id": "TEXT",
    "account_id": "TEXT",
    "email": "TEXT",
    "decision": "TEXT",
    "comment": "TEXT",
    "reviewer": "TEXT",
    "decided_at": "TIMESTAMP",
    "pack_sha256": "TEXT",
}
SHOWN_CHARS = 80


def _shown(text: str) -> str:
    """A value from the user's file for a one-line error: quoted (control characters escaped)
    and cut."""
    return repr(text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "...")


def unquote_cell(text: str) -> str:
    """A pack CSV cell as the warehouse holds it: the quote exports.safe_cell put before a
    formula start taken off again (a value that itself began with a quote and a formula
    character cannot be told apart; access_key, which matches decisions, never does)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_STARTS):
        return text[1:]
    return text


@dataclass(frozen=True)
class Account:
    """One row of the pack's access review, as the reviewer saw it."""

    system: str
    tenant_id: str
    account_id: str
    email: str | None


@dataclass(frozen=True)
class Pack:
    """The pack the review was made on: its manifest's SHA-256 and its accounts by access_key."""

    folder: Path
    manifest_sha256: str
    accounts: dict[str, Account]


def read_pack(folder: Path) -> Pack:
    """The pack, after checking its access review CSV is the one its manifest lists."""
    manifest_path = folder / "manifest.json"
    if not folder.is_dir():
        raise ReportError(
            f"--pack {folder} is not a folder: give the evidence pack the review was made on"
        )
    if not manifest_path.is_file():
        raise ReportError(
            f"--pack {folder} has no manifest.json: give the folder evidence-pack wrote"
        )
    try:
        raw = manifest_path.read_bytes()
        doc = json.loads(raw)
    except (OSError, ValueError):
        raise ReportError(
            f"{manifest_path} is not the JSON evidence-pack writes: build the pack again"
        ) from None
    files = doc.get("files") if isinstance(doc, dict) else None
    listed = {f.get("path"): f.get("sha256") for f in files or [] if isinstance(f, dict)}
    csv_path = folder / ACCESS_REVIEW_CSV
    if not listed.get(ACCESS_REVIEW_CSV):
        raise ReportError(
            f"{manifest_path} does not list {ACCESS_REVIEW_CSV}: build the pack again"
        )
    if not csv_path.is_file():
        raise ReportError(f"{csv_path} is missing: the pack is not whole, build it again")
    if sha256(csv_path) != listed[ACCESS_REVIEW_CSV]:
        raise ReportError(
            f"{csv_path} differs from its SHA-256 in manifest.json, so the pack was edited "
            "after it was built: restore the file or build the pack again, and fill in a copy"
        )
    return Pack(folder, hashlib.sha256(raw).hexdigest(), _pack_accounts(csv_path))


def _pack_accounts(path: Path) -> dict[str, Account]:
    """access_key -> the account, from the pack's access review CSV (evidence-pack wrote it)."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise ReportError(f"{path} is empty: build the pack again")
    header = [unquote_cell(h) for h in rows[0]]
    if "access_key" not in header:
        raise ReportError(f"{path} has no access_key column: build the pack again")
    found: dict[str, Account] = {}
    for row in rows[1:]:
        values = dict(zip(header, (unquote_cell(c) for c in row), strict=False))
        key = values.get("access_key") or ""
        if key:
            found[key] = Account(
                system=values.get("system") or "",
                tenant_id=values.get("tenant_id") or "",
                account_id=values.get("account_id") or "",
                email=values.get("email") or None,
            )
    return found


@dataclass(frozen=True)
class Decision:
    """One filled-in row of the decisions file."""

    line: int
    access_key: str
    decision: str  # keep or revoke, lower case
    comment: str


def _columns(line: str) -> tuple[str, list[str]]:
    """The delimiter and the header names: a comma, or the semicolon or tab some spreadsheets
    save with, whichever gives both access_key and decision."""
    for delimiter in (",", ";", "\t"):
        names = [h.strip().lower() for h in next(csv.reader([line], delimiter=delimiter))]
        if "access_key" in names and "decision" in names:
            return delimiter, names
    return ",", [h.strip().lower() for h in next(csv.reader([line]))]


def read_decisions(path: Path) -> list[Decision]:
    """The rows with a decision; rows with an empty decision are not reviewed yet and skipped."""
    if not path.is_file():
        raise ReportError(f"--decisions {path} not found: give the filled-in CSV")
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise ReportError(f"cannot read --decisions {path}: {err.strerror or err}") from None
    try:
        text: str | None = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:  # an image, a spreadsheet's own format, ...
        raise ReportError(
            f"--decisions {path} is not a CSV text file: save the filled-in access review as "
            "CSV (UTF-8)"
        )
    first = text.splitlines()[0] if text.strip() else ""
    if not first.strip():
        raise ReportError(
            f"--decisions {path} has no header line: its first line must name the columns "
            "(the pack's tables/access_review.csv has access_key, ..., decision, comment)"
        )
    delimiter, names = _columns(first)
    for needed in ("access_key", "decision"):
        if needed not in names:
            raise ReportError(
                f"--decisions {path} has no {needed} column in its header line: fill in a copy "
                f"of the pack's {ACCESS_REVIEW_CSV}, or give columns access_key, decision, comment"
            )
    at = {n: names.index(n) for n in ("access_key", "decision", "comment") if n in names}
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    found: list[Decision] = []
    seen: dict[str, int] = {}
    try:
        next(reader)
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1

            def cell(name: str, row: list[str] = row) -> str:
                i = at.get(name)
                return row[i] if i is not None and i < len(row) else ""

            decision = cell("decision").strip()
            if not decision:
                continue
            key = cell("access_key").strip()
            if decision.lower() not in DECISIONS:
                raise ReportError(
                    f"{path} line {line}: decision {_shown(decision)} is neither keep nor revoke"
                )
            if not key:
                raise ReportError(
                    f"{path} line {line}: a decision without an access_key: copy the account's "
                    f"access_key from the pack's {ACCESS_REVIEW_CSV}"
                )
            if key in seen:
                raise ReportError(
                    f"{path} line {line}: access_key {_shown(key)} was decided on line "
                    f"{seen[key]} already: keep one decision per account"
                )
            seen[key] = line
            found.append(Decision(line, key, decision.lower(), cell("comment")))
    except csv.Error as err:
        raise ReportError(
            f"{path} line {reader.line_num}: not valid CSV ({err}): save it as CSV again"
        ) from None
    if not found:
        raise ReportError(
            f"--decisions {path} holds no decision: write keep or revoke in the decision column "
            "of each account reviewed"
        )
    return found


@dataclass(frozen=True)
class Review:
    """A review checked against its pack, ready to be stored."""

    pack: Pack
    decisions: list[Decision]
    reviewer: str

    def count(self, decision: str) -> int:
        """How many decisions are `decision`."""
        return sum(1 for d in self.decisions if d.decision == decision)


def prepare(pack_dir: Path, decisions_path: Path, reviewer: str) -> Review:
    """Every check that needs no warehouse: the reviewer, the pack, the decisions."""
    if not reviewer.strip():
        raise ReportError("--reviewer is empty: give the name of the person who signs the review")
    own = pack_dir / ACCESS_REVIEW_CSV
    if decisions_path.resolve() == own.resolve():
        raise ReportError(
            f"--decisions is the pack's own {ACCESS_REVIEW_CSV}: fill in a copy outside the "
            "pack (the pack must stay as built; manifest.json holds each file's SHA-256)"
        )
    pack = read_pack(pack_dir)
    decisions = read_decisions(decisions_path)
    for d in decisions:
        if d.access_key not in pack.accounts:
            raise ReportError(
                f"{decisions_path} line {d.line}: access_key {_shown(d.access_key)} is not in "
                f"the pack's {ACCESS_REVIEW_CSV}: copy it from there, or give the pack the "
                "review was made on"
            )
    return Review(pack, decisions, reviewer)


@dataclass(frozen=True)
class Recorded:
    """What was stored."""

    review_id: str
    keep: int
    revoke: int
    pack_sha256: str

    def summary(self) -> str:
        """The one line the command prints."""
        return (
            f"recorded {self.keep} keep and {self.revoke} revoke decision(s): review "
            f"{self.review_id}, pack manifest.json SHA-256 {self.pack_sha256}"
        )


def store(wh: WritableWarehouse, review: Review, *, now: datetime) -> Recorded:
    """Append the review's decisions in one transaction (schema and table made on first use)."""
    now = now.astimezone(UTC)
    review_id = f"review-{now:%Y%m%dT%H%M%SZ}-{secrets.token_hex(4)}"
    decided_at = now.replace(tzinfo=None)
    rows: list[list[Any]] = []
    for d in review.decisions:
        acct = review.pack.accounts[d.access_key]
        rows.append(
            [
                review_id,
                d.access_key,
                acct.system,
                acct.tenant_id,
                acct.account_id,
                acct.email,
                d.decision,
                d.comment,
                review.reviewer,
                decided_at,
                review.pack.manifest_sha256,
            ]
        )
    table = wh.table_ref(REVIEWS_SCHEMA, DECISIONS_TABLE)
    steps: list[tuple[str, list[list[Any]]]] = []
    have = wh.columns(REVIEWS_SCHEMA, DECISIONS_TABLE)
    if have is None:
        ddl = ", ".join(f"{quote_name(c)} {t}" for c, t in DECISION_COLUMNS.items())
        steps.append((f"CREATE SCHEMA IF NOT EXISTS {wh.schema_ref(REVIEWS_SCHEMA)}", []))
        steps.append((f"CREATE TABLE IF NOT EXISTS {table} ({ddl})", []))
    else:
        missing = [c for c in DECISION_COLUMNS if c not in have]
        if missing:
            raise ReportError(
                f"{REVIEWS_SCHEMA}.{DECISIONS_TABLE} in {wh.label} lacks column(s) "
                f"{', '.join(missing)}: it was not made by evidence-pack record-review"
            )
    cols = ", ".join(quote_name(c) for c in DECISION_COLUMNS)
    marks = ", ".join(wh.placeholder for _ in DECISION_COLUMNS)
    steps.append((f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows))  # noqa: S608
    wh.write(steps)
    return Recorded(
        review_id, review.count("keep"), review.count("revoke"), review.pack.manifest_sha256
    )
