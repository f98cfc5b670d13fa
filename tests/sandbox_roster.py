"""An HR roster for the sandbox: leavers whose accounts world step 1 removes, one it keeps.

For tests of evidence.leaver_access across world steps 0 -> 1 (taps_sandbox/world.py): step 1
removes Segment user users-1-4 and Fivetran user #5 and keeps the others. The emails come from
what the sandbox serves, so the roster follows the sandbox's generator.

- ``late``: the Segment user step 1 removes, terminated ``late_days`` before ``now``
  (its email upper-cased in the file: the models match emails without regard to case);
- ``in_time``: the Fivetran user step 1 removes, terminated at ``now`` (so the removal a run
  after ``now`` finds is within the one-day grace);
- ``still_active``: a Segment user step 1 keeps, terminated ``late_days`` before ``now``;
- ``employee``: another kept user with a blank terminated_at (must not be listed);
- ``no_account``: a leaver with no account anywhere (must not be listed).

``examples/hr_roster.csv`` (the README's example, used by ``make demo``) holds the same
people; tests/test_tap_hr_roster.py checks that its emails are still the sandbox's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from taps_sandbox.base import SEGMENT_TOKEN
from taps_sandbox.server import Sandbox
from taps_sandbox.world import FIVETRAN_REMOVED_USER, SEGMENT_REMOVED_USER

SEGMENT_KEPT_USER = 0  # step 1 neither removes nor changes it
SEGMENT_EMPLOYEE = 1
NO_ACCOUNT = "former.contractor@example.com"


@dataclass(frozen=True)
class SandboxLeavers:
    """The roster's people by what the mart must say about them, and their termination times."""

    late: str
    in_time: str
    still_active: str
    employee: str
    no_account: str
    terminated_at: dict[str, datetime | None]


def segment_email(sandbox: Sandbox, index: int) -> str:
    """Email of Segment user ``index`` of workspace 1 (the workspace the world changes)."""
    api = sandbox.apis["segment"]
    ws = api.workspaces[SEGMENT_TOKEN]
    return str(ws.make("users", "UserV1", index)["email"])


def fivetran_email(sandbox: Sandbox, index: int) -> str:
    """Email of Fivetran user ``index``."""
    return str(sandbox.apis["fivetran"].user(index)["email"])


def sandbox_leavers(
    sandbox: Sandbox, *, now: datetime | None = None, late_days: int = 10
) -> SandboxLeavers:
    """Who is who in the sandbox roster; ``now`` (default: now, UTC) anchors the dates."""
    now = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    late = segment_email(sandbox, SEGMENT_REMOVED_USER)
    in_time = fivetran_email(sandbox, FIVETRAN_REMOVED_USER)
    still_active = segment_email(sandbox, SEGMENT_KEPT_USER)
    employee = segment_email(sandbox, SEGMENT_EMPLOYEE)
    long_ago = now - timedelta(days=late_days)
    return SandboxLeavers(
        late=late,
        in_time=in_time,
        still_active=still_active,
        employee=employee,
        no_account=NO_ACCOUNT,
        terminated_at={
            late: long_ago,
            in_time: now,
            still_active: long_ago,
            employee: None,
            NO_ACCOUNT: long_ago,
        },
    )


def write_sandbox_roster(
    path: Path, sandbox: Sandbox, *, now: datetime | None = None, late_days: int = 10
) -> SandboxLeavers:
    """Write the roster CSV to ``path`` (for EVIDENCE_HR_ROSTER) and say who is who."""
    who = sandbox_leavers(sandbox, now=now, late_days=late_days)
    lines = ["employee_id,email,terminated_at"]
    for n, (email, when) in enumerate(who.terminated_at.items(), start=1):
        shown = email.upper() if email == who.late else email
        lines.append(f"E-{n:04d},{shown},{when.isoformat().replace('+00:00', 'Z') if when else ''}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return who
