"""CSV files for compliance tools, and the manifest that proves the pack is whole.

Vanta's access file (help.vanta.com, "Access File Uploader") has one file per system with the
columns Account name, Account owner, Role, Status (Active or Deactivated), Date created (UTC)
and Date deactivated (UTC), dates as YYYY-MM-DD, several roles comma-separated. Drata's user
access review takes a user list per manually added application; its template is not published,
so `drata/` carries the fields its review screen shows per account (name, email, username,
access level, status) plus the two dates.

Accounts removed from the system (gone from a complete run) are Deactivated on the day a run
first found them gone; accounts the system reports disabled (Fivetran `active: false`) are
Deactivated with no date, as the API gives none. Pending invites are not accounts yet.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from evidence_pack.data import MART_COLUMNS, RECONCILIATION, REVIEW_FOLLOWUP, Evidence
from evidence_pack.diagram import tables_of, unique_flows
from evidence_pack.privacy import PRIVACY_MART

VANTA_COLUMNS = [
    "Account name",
    "Account owner",
    "Role",
    "Status",
    "Date created (UTC)",
    "Date deactivated (UTC)",
]
# The columns tables/access_review.csv ends with, empty, for the reviewer's decision (keep or
# revoke) and comment.
REVIEW_DECISION_COLUMNS = ["decision", "comment"]
DRATA_COLUMNS = [
    "Name",
    "Email",
    "Username",
    "Access Level",
    "Status",
    "Date Created",
    "Date Deactivated",
]


def _day(value: datetime | None) -> str:
    """YYYY-MM-DD, as both tools want dates."""
    return value.strftime("%Y-%m-%d") if value else ""


def _iso(value: Any) -> Any:
    """Times as ISO-8601 UTC in the full tables; lists as comma-separated text."""
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return value


# What makes a spreadsheet read a cell as a formula (OWASP, "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """One CSV cell that a spreadsheet shows as text and never runs as a formula.

    Names come from any member of a workspace, so `=HYPERLINK(...)` would run on the reviewer's
    machine. OWASP's rule: text starting with = + - @ tab or carriage return gets a leading
    single quote. Only text is quoted: an int, float or Decimal is written as a plain number
    (-5 is a number to every spreadsheet, not a formula, and the reviewer's sums keep working);
    the same characters as a string ("-5", "-2+3") are quoted, as nothing says they are a number.
    None and booleans pass through; anything else is written as its text, checked the same way.
    """
    if value is None or isinstance(value, bool | int | float | Decimal):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    """RFC 4180 CSV (CRLF line ends, quotes where needed), every cell through `safe_cell`.

    Every CSV of the pack is written here, so no file can skip the formula guard.
    """
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([safe_cell(h) for h in header])
    writer.writerows([safe_cell(v) for v in row] for row in rows)
    return buf.getvalue()


def safe_name(text: str) -> str:
    """A file name part from a tenant id."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._") or "tenant"


def deactivated_on(ev: Evidence) -> dict[tuple[str, str, str], datetime]:
    """When each removed account was found gone: its newest `removed` or `revoked` change."""
    found: dict[tuple[str, str, str], datetime] = {}
    for c in ev.access_changes:
        if c["change"] in {"removed", "revoked"} and c["seen_at"]:
            key = (str(c["system"]), str(c["tenant_id"]), str(c["account_id"]))
            if key not in found or c["seen_at"] > found[key]:
                found[key] = c["seen_at"]
    return found


REVIEWED_STATUSES = {"active", "inactive", "removed"}


def reviewable(ev: Evidence) -> dict[tuple[str, str], list[dict[str, Any]]]:
    """Accounts per system and tenant; pending invites are not accounts yet and stay out."""
    out: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for a in sorted(ev.access_review, key=lambda r: (r["email"] or "", r["account_id"] or "")):
        if a["status"] in REVIEWED_STATUSES:
            out.setdefault((str(a["system"]), str(a["tenant_id"])), []).append(a)
    return out


def _access_files(
    ev: Evidence,
    folder: str,
    columns: list[str],
    row: Callable[[dict[str, Any], str, str], list[Any]],
) -> dict[str, str]:
    """One access file per system and tenant; ``row`` gets an account, its creation day and
    its deactivation day ("" while active) and returns the file's columns."""
    gone = deactivated_on(ev)
    files: dict[str, str] = {}
    for (system, tenant), accounts in sorted(reviewable(ev).items()):
        rows = []
        for a in accounts:
            when = gone.get((system, tenant, str(a["account_id"])), a["last_seen_at"])
            created = _day(a["created_at"] or a["first_seen_at"])
            rows.append(row(a, created, _day(when) if a["status"] == "removed" else ""))
        files[f"{folder}/{safe_name(system)}-{safe_name(tenant)}.csv"] = csv_text(columns, rows)
    return files


def vanta_files(ev: Evidence) -> dict[str, str]:
    """One Vanta access file per system and tenant."""
    return _access_files(
        ev,
        "vanta",
        VANTA_COLUMNS,
        lambda a, created, gone: [
            a["name"] or a["email"] or a["account_id"],
            a["email"] or "No owner",
            ", ".join(a["roles"]),
            "Active" if a["status"] == "active" else "Deactivated",
            created,
            gone,
        ],
    )


def drata_files(ev: Evidence) -> dict[str, str]:
    """One Drata user list per system and tenant."""
    return _access_files(
        ev,
        "drata",
        DRATA_COLUMNS,
        lambda a, created, gone: [
            a["name"] or "",
            a["email"] or "",
            a["account_id"],
            ", ".join(a["roles"]),
            "Active" if a["status"] == "active" else "Inactive",
            created,
            gone,
        ],
    )


def table_files(ev: Evidence) -> dict[str, str]:
    """The page's tables in full, for a reviewer's own tools."""
    access_cols = (
        list(ev.access_review[0].keys()) if ev.access_review else MART_COLUMNS["access_review"]
    )
    change_cols = MART_COLUMNS["access_changes"]
    runs_rows = [
        [
            tr.tap,
            tr.tenant_id,
            tr.run.run_id,
            _iso(tr.run.finished_at),
            s.stream,
            s.status,
            s.records,
            s.requests,
            s.reason,
        ]
        for tr in ev.tenant_runs
        for s in sorted(tr.streams, key=lambda s: s.stream)
    ]
    findings = []
    for name, rows in ev.findings.items():
        for r in rows:
            ident = r.get("credential_id") or r.get("account_id")
            label = r.get("name") or r.get("email") or ""
            findings.append([name, r["system"], r["tenant_id"], ident, label])
    flows = [
        [
            f["system"],
            f["tenant_id"],
            f["from_type"],
            f["from_id"],
            f["from_name"],
            f["to_type"],
            f["to_id"],
            f["to_name"],
            f.get("status") or "active",
            tables_of(f.get("tables_enabled"), f.get("tables_enabled_count"))[0],
        ]
        for f in unique_flows(ev.data_flows)
    ]
    return {
        # Two empty columns for the reviewer to fill in a copy, which `evidence-pack
        # record-review` stores (evidence_pack/review.py).
        "tables/access_review.csv": csv_text(
            access_cols + REVIEW_DECISION_COLUMNS,
            [[_iso(r[c]) for c in access_cols] + ["", ""] for r in ev.access_review],
        ),
        "tables/access_changes_since.csv": csv_text(
            change_cols, [[_iso(r[c]) for c in change_cols] for r in ev.changes_since]
        ),
        "tables/config_changes_since.csv": csv_text(
            ev.config_columns,
            [[_iso(r[c]) for c in ev.config_columns] for r in ev.config_changes_since],
        ),
        "tables/credential_findings.csv": csv_text(
            ["finding", "system", "tenant_id", "id", "name"], findings
        ),
        "tables/last_complete_runs.csv": csv_text(
            [
                "tap",
                "tenant_id",
                "run_id",
                "finished_at",
                "stream",
                "status",
                "records",
                "requests",
                "reason",
            ],
            runs_rows,
        ),
        "tables/data_flows.csv": csv_text(
            [
                "system",
                "tenant_id",
                "from_type",
                "from_id",
                "from_name",
                "to_type",
                "to_id",
                "to_name",
                "status",
                "tables_enabled",
            ],
            flows,
        ),
        # Every revoke of every recorded review and whether it was carried out; header only
        # when the warehouse has no review_followup mart.
        "tables/review_followup.csv": csv_text(
            MART_COLUMNS[REVIEW_FOLLOWUP],
            [[_iso(r[c]) for c in MART_COLUMNS[REVIEW_FOLLOWUP]] for r in ev.review_followup or []],
        ),
        # Every run, stream and tenant the mart holds (superseded runs too); header only when
        # the warehouse has no reconciliation mart.
        "tables/extract_reconciliation.csv": csv_text(
            MART_COLUMNS[RECONCILIATION],
            [[_iso(r[c]) for c in MART_COLUMNS[RECONCILIATION]] for r in ev.reconciliation or []],
        ),
        # Every privacy request the mart keeps, those the API no longer lists too (never who is
        # to be forgotten: the mart holds no subject); header only without the mart.
        "tables/privacy_requests.csv": csv_text(
            MART_COLUMNS[PRIVACY_MART],
            [[_iso(r[c]) for c in MART_COLUMNS[PRIVACY_MART]] for r in ev.privacy or []],
        ),
        # Every leaver's every account (evidence.leaver_access); header only when the warehouse
        # has no such mart.
        "tables/leaver_access.csv": csv_text(
            MART_COLUMNS["leaver_access"],
            [[_iso(r[c]) for c in MART_COLUMNS["leaver_access"]] for r in ev.leavers or []],
        ),
    }


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest(ev: Evidence, folder: Path) -> str:
    """manifest.json: when and from what the pack was made, and the SHA-256 of every file."""
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.name != "manifest.json")
    doc = {
        "generated_at": _iso(ev.generated_at),
        "ages_measured_from": _iso(ev.now),
        "warehouse": ev.warehouse,
        "changes_since": _iso(ev.since),
        "changes_since_source": ev.since_source,
        "last_complete_runs": [
            {
                "tap": tr.tap,
                "tenant_id": tr.tenant_id,
                "run_id": tr.run.run_id,
                "finished_at": _iso(tr.run.finished_at),
                "run_status": tr.run.status,
            }
            for tr in ev.tenant_runs
        ],
        "files": [
            {
                "path": p.relative_to(folder).as_posix(),
                "bytes": p.stat().st_size,
                "sha256": sha256(p),
            }
            for p in files
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
