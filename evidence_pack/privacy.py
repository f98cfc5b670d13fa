"""Privacy requests in the pack: Segment's deletion and suppression requests (GDPR, CCPA).

The API lists a request for 90 days only; `evidence.privacy_requests` keeps each one after,
marked no longer listed, so the pack can show requests the API has forgotten. The mart never
holds who is to be forgotten (the subjects are personal data), so neither does the pack.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

PRIVACY_MART = "privacy_requests"

# The page's table: (column, heading). The CSV file carries every column of the contract.
PRIVACY_COLUMNS = [
    ("tenant_id", "Tenant"),
    ("regulation_id", "Request"),
    ("type", "Type"),
    ("subject_type", "Subject type"),
    ("subject_count", "Subjects"),
    ("status", "Status"),
    ("created_at", "Created"),
    ("finished_at", "Finished"),
    ("age_days", "Age (days)"),
    ("overdue", "Overdue"),
    ("still_listed", "Listed by the API"),
    ("first_seen_at", "First seen"),
    ("last_seen_at", "Last seen"),
]


def _flag(value: Any) -> bool:
    """A boolean column that may arrive as text or number."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes", "y"}
    return bool(value)


def _count(value: Any) -> int | None:
    """A whole number, or None when the warehouse has none."""
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def normalise(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Typed values and the page's order: overdue first, then open, newest request first."""
    for row in rows:
        row["overdue"] = _flag(row["overdue"])
        row["still_listed"] = _flag(row["still_listed"])
        row["subject_count"] = _count(row["subject_count"])
        row["age_days"] = _count(row["age_days"])
        row["status"] = str(row["status"] or "")
    oldest = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (str(r["tenant_id"]), str(r["regulation_id"])))
    rows.sort(key=lambda r: r["created_at"] or oldest, reverse=True)
    rows.sort(key=lambda r: (not r["overdue"], r["finished_at"] is not None))
    return rows


def counts(rows: list[dict[str, Any]]) -> dict[str, int]:
    """The section's numbers: open (not finished), overdue, no longer listed, all."""
    return {
        "open": sum(1 for r in rows if r["finished_at"] is None),
        "overdue": sum(1 for r in rows if r["overdue"]),
        "unlisted": sum(1 for r in rows if not r["still_listed"]),
        "total": len(rows),
    }
