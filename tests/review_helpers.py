"""For tests that record an access review: a filled-in decisions file made from a pack, as a
reviewer saves it, and the sandbox accounts that world step 1 removes or leaves in place (a
revoke of the first is done after the next run, of the second still open)."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ACCESS_REVIEW_CSV = Path("tables") / "access_review.csv"


def write_decisions(pack: Path, out: Path, decisions: Mapping[str, tuple[str, str]]) -> Path:
    """A copy of the pack's tables/access_review.csv with decision and comment filled in for
    the given access keys (access_key -> (decision, comment)) and blank for every other row;
    written to ``out`` (outside the pack: the pack must stay as built)."""
    with (pack / ACCESS_REVIEW_CSV).open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    header = rows[0]
    key, decision, comment = (header.index(c) for c in ("access_key", "decision", "comment"))
    unknown = set(decisions) - {row[key] for row in rows[1:]}
    assert not unknown, f"access keys not in the pack: {sorted(unknown)}"
    for row in rows[1:]:
        if row[key] in decisions:
            row[decision], row[comment] = decisions[row[key]]
    with out.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\r\n").writerows(rows)
    return out


@dataclass(frozen=True)
class SandboxReviewKeys:
    """access_key values of sandbox accounts, as access_review has them."""

    removed_by_step_1: tuple[str, str]  # Segment user users-1-4, Fivetran user #5
    kept_by_step_1: tuple[str, str]  # Segment user users-1-3, Fivetran user #0


def sandbox_review_keys() -> SandboxReviewKeys:
    """The accounts world step 1 removes and two it leaves alone (taps_sandbox/world.py)."""
    from taps_sandbox import world as w
    from taps_sandbox.base import SandboxOptions
    from taps_sandbox.server import Sandbox

    sandbox = Sandbox(SandboxOptions(), port=0)  # never started: only its generated data
    segment, fivetran = sandbox.apis["segment"], sandbox.apis["fivetran"]
    workspace = segment.workspace_id(1)
    account = fivetran.account_info()["account_id"]
    users = fivetran.expected_ids("users")
    kept_segment, kept_fivetran = 3, 0
    assert kept_segment not in {w.SEGMENT_REMOVED_USER, w.SEGMENT_ROLE_CHANGED_USER}
    assert kept_fivetran not in {
        w.FIVETRAN_REMOVED_USER,
        w.FIVETRAN_ROLE_CHANGED_USER,
        w.FIVETRAN_MEMBERSHIP_USER,
    }
    return SandboxReviewKeys(
        removed_by_step_1=(
            f"segment|{workspace}|users-1-{w.SEGMENT_REMOVED_USER}",
            f"fivetran|{account}|{users[w.FIVETRAN_REMOVED_USER]}",
        ),
        kept_by_step_1=(
            f"segment|{workspace}|users-1-{kept_segment}",
            f"fivetran|{account}|{users[kept_fivetran]}",
        ),
    )
