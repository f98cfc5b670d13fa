"""The access review over two evidence runs on the sandbox, as a user goes through it: a roster
from HR before the first run, a review recorded on the first run's pack (two revokes, one of
which world step 1 carries out, and one keep), then the second run. What the marts must say
afterwards is worked out from the sandbox and the roster, not from the models.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from taps_sandbox.server import Sandbox
from tests.privacy_grants_expected import source_scoped_grant, unlisted_regulation
from tests.review_helpers import sandbox_review_keys, write_decisions
from tests.sandbox_roster import SandboxLeavers, write_sandbox_roster

ROOT = Path(__file__).resolve().parents[1]
CLI_TIMEOUT_S = 300  # the pack of a large warehouse
REVIEWER = 'Ada "<b>Auditor</b>" =1+1'  # typed by a person: markup and a formula stay text
Query = Callable[[str], list[tuple[Any, ...]]]


@dataclass(frozen=True)
class RecordedReview:
    """The access keys the review revoked: the one step 1 removes and the one it keeps."""

    done_after_step_1: str
    open_after_step_1: str
    kept: str


def add_roster(env: dict[str, str], folder: Path) -> tuple[dict[str, str], SandboxLeavers]:
    """``env`` with EVIDENCE_HR_ROSTER naming a sandbox roster written now in ``folder``."""
    path = folder / "hr_roster.csv"
    who = write_sandbox_roster(path, Sandbox(), now=datetime.now(UTC))
    return {**env, "EVIDENCE_HR_ROSTER": str(path)}, who


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m evidence_pack ARGS`` as a user runs it, bounded; whatever it returns."""
    return subprocess.run(
        [sys.executable, "-m", "evidence_pack", *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdin=subprocess.DEVNULL,
    )


def evidence_pack(*args: str, env: dict[str, str] | None = None) -> None:
    """``run_cli``; fails the test on a non-zero exit."""
    proc = run_cli(*args, env=env)
    assert proc.returncode == 0, f"evidence-pack {args[:1]} exited {proc.returncode}: {proc.stderr}"


def record_review(
    warehouse_args: Sequence[str], folder: Path, env: dict[str, str] | None = None
) -> RecordedReview:
    """Build the pack on what the first run left, fill its access review CSV in (revoke the
    Segment user step 1 removes and a Fivetran user it keeps, keep another) and record it."""
    pack = folder / "pack-run-1"
    evidence_pack(*warehouse_args, "--out", str(pack), env=env)
    keys = sandbox_review_keys()
    review = RecordedReview(
        done_after_step_1=keys.removed_by_step_1[0],
        open_after_step_1=keys.kept_by_step_1[1],
        kept=keys.kept_by_step_1[0],
    )
    decisions = write_decisions(
        pack,
        folder / "decisions.csv",
        {
            review.done_after_step_1: ("revoke", "left the data team"),
            review.open_after_step_1: ("revoke", '=HYPERLINK("http://x") no longer needed'),
            review.kept: ("keep", "owner of the prod sources"),
        },
    )
    evidence_pack(
        "record-review",
        "--pack",
        str(pack),
        "--decisions",
        str(decisions),
        "--reviewer",
        REVIEWER,
        *warehouse_args,
        env=env,
    )
    return review


def check_access_review(query: Query, who: SandboxLeavers, review: RecordedReview) -> None:
    """After step 1: the three leavers with their outcomes, one revoke done and one open, the
    request the API stopped listing kept, the source-scoped role's grant naming its source."""
    leavers = {
        (str(email).lower(), outcome)
        for email, outcome in query("select email, outcome from evidence.leaver_access")
    }
    assert leavers == {
        (who.late, "removed_late"),
        (who.in_time, "removed_in_time"),
        (who.still_active, "still_active"),
    }, leavers

    followup = dict(query("select access_key, status from evidence.review_followup"))
    assert followup == {review.done_after_step_1: "done", review.open_after_step_1: "open"}
    reviewers = {r for (r,) in query("select reviewer from evidence.review_followup")}
    assert reviewers == {REVIEWER}, "the reviewer's name is kept verbatim"

    gone = unlisted_regulation()
    kept = query(
        "select status, still_listed from evidence.privacy_requests "
        f"where tenant_id = '{gone.tenant_id}' and regulation_id = '{gone.regulation_id}'"
    )
    assert kept == [(gone.status, False)], kept

    scoped = source_scoped_grant()
    (grants,) = query(
        "select grants from evidence.access_review "
        f"where tenant_id = '{scoped.tenant_id}' and account_id = '{scoped.account_id}'"
    )[0]
    assert scoped.grant in grants.split("; "), grants
