"""The page's Leavers section: evidence.leaver_access, each leaver's accounts and whether
they were removed in time.

The mart is empty until an HR roster is loaded (tap-hr-roster reads the file named by
EVIDENCE_HR_ROSTER), and a warehouse built before the mart existed has none at all: the
section says which, and how to give the roster, instead of showing an empty table only.
"""

from __future__ import annotations

from decimal import Decimal
from html import escape
from typing import Any

from evidence_pack.data import Evidence
from evidence_pack.tables import Cell, badge, count, table

OUTCOMES = ("still_active", "removed_late", "removed_in_time")  # the order rows are shown in
LEAVER_COLUMNS = [
    ("email", "Email"),
    ("terminated_at", "Left"),
    ("system", "System"),
    ("tenant_id", "Tenant"),
    ("account_id", "Account id"),
    ("status", "Status now"),
    ("removed_at", "Removed"),
    ("days_to_removal", "Days to removal"),
    ("outcome", "Outcome"),
]
HOW_TO_LOAD = (
    "Export the roster from the HR system or the IdP as CSV with at least the columns "
    "<code>email</code> and <code>terminated_at</code> (blank while employed), set "
    "<code>EVIDENCE_HR_ROSTER</code> to the file's path and run the evidence job again "
    "(README, \u201cLeavers\u201d)."
)


def days(value: Any) -> Cell:
    """Days to removal: two decimals, right-aligned, sorted as a number."""
    if value is None or value == "":
        return ("", "", "")
    number = Decimal(str(value))
    return (escape(f"{number:.2f}"), str(number), "num")


def _order(row: dict[str, Any]) -> tuple[int, str, str, str, str]:
    """Still active first, then late, then in time; then by email and account."""
    rank = OUTCOMES.index(row["outcome"]) if row["outcome"] in OUTCOMES else len(OUTCOMES)
    return (
        rank,
        str(row["email"] or "").lower(),
        str(row["system"]),
        str(row["tenant_id"]),
        str(row["account_id"]),
    )


def leavers_section(ev: Evidence) -> str:
    """Section: per outcome a count, a warning for accounts still there, and the table."""
    head = (
        '<section id="leavers"><h2>Leavers</h2>'
        '<p class="muted">Everyone the HR roster says left, with every Segment and Fivetran '
        "account they ever had (matched by email, any case; <code>evidence.leaver_access"
        "</code>). <b>removed in time</b>: the account was found gone no later than the grace "
        "period after leaving (dbt var <code>leaver_grace_days</code>, default 1 day), or "
        "before; <b>removed late</b>: after it; <b>still active</b>: not removed (active, "
        "invited or inactive). Removal times are when an evidence run first found the account "
        "gone.</p>"
    )
    rows = ev.leavers
    if rows is None:
        return (
            head + '<p class="warn" data-testid="leavers-missing">This warehouse has no '
            "evidence.leaver_access: rebuild the marts with this checkout's transform/ project "
            f"(dbt build). {HOW_TO_LOAD}</p></section>"
        )
    counts = {o: sum(1 for r in rows if r["outcome"] == o) for o in OUTCOMES}
    people = len({str(r["email"] or "").strip().lower() for r in rows})
    summary = (
        f"<p>{count('leavers-removed-in-time', counts['removed_in_time'])} removed in time, "
        f"{count('leavers-removed-late', counts['removed_late'])} removed late, "
        f"{count('leavers-still-active', counts['still_active'])} still active: "
        f"{count('leavers-accounts', len(rows))} accounts of "
        f"{count('leavers-people', people)} leavers.</p>"
    )
    warn = ""
    if counts["still_active"]:
        warn = (
            '<p class="warn" data-testid="leavers-still-active-warning">'
            f"{counts['still_active']} account(s) of people who left are still there: see the "
            "rows marked still active below.</p>"
        )
    if not rows:
        body = (
            '<p class="empty" data-testid="leavers-empty">No leaver with an account. Either no '
            f"roster was loaded: {HOW_TO_LOAD} Or no one the roster says left ever had a "
            "Segment or Fivetran account.</p>"
        )
    else:
        body = table(
            "leaver-access",
            LEAVER_COLUMNS,
            sorted(rows, key=_order),
            render={"status": badge, "outcome": badge, "days_to_removal": days},
            row_class=lambda r: f"outcome-{r['outcome']}",
        )
    return head + summary + warn + body + "</section>"
