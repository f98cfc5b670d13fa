"""Who has not used their access lately: the "no login for 90 days" finding.

Fivetran tells each user's last login. Segment tells none, so a Segment account is judged on
its latest audit event as actor (`last_activity_at` in the access marts) instead, but only
where missing events prove something: the tap reads the audit trail from its start_date (30
days back by default) and the workspace's plan may not include it at all, so an account with
no event is "unknown", never "inactive", unless the trail on record covers the whole window.

The trail of a workspace is on record from the start of the first run that read it
completely: that run read every event from its start_date up to then, and each later run
continues from its bookmark, so no event after that moment is missing. It must also have been
read by the workspace's latest complete run, else newer events may be missing. That start is
a lower bound of the trail's reach (the first run read back to its start_date as well), so the
rule errs towards "unknown". An account must also have been listed for the whole window
(first_seen_at), as the APIs tell no creation time for a Segment user: a new account that has
not acted yet is not dormant.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

AUDIT_STREAM = "audit_events"


class RunHistory(Protocol):
    """What the finding reads of the evidence (``data.Evidence`` is one): the runs, each
    tenant's latest run, and the access review. A protocol, so this module does not import
    the loader that calls it."""

    @property
    def runs(self) -> Sequence[Any]:
        """Every run of every tap (``streams_for``, ``tenant_ids``, ``started_at``)."""
        ...

    @property
    def tenant_runs(self) -> Sequence[Any]:
        """Each tenant's latest run (``complete``, ``streams``, ``tap``)."""
        ...

    @property
    def access_review(self) -> Sequence[dict[str, Any]]:
        """The access review rows."""
        ...


def _is_segment(tap: str) -> bool:
    """The Segment tap's runs (the manifest's `tap`, or the schema it was read from)."""
    return tap in {"tap-segment", "segment"}


def _read_audit(streams: list[Any]) -> bool:
    """The run read the audit trail completely for this tenant."""
    return any(s.stream == AUDIT_STREAM and s.status == "complete" for s in streams)


def audit_trail_since(ev: RunHistory) -> dict[str, datetime]:
    """Per Segment workspace: since when its audit trail on record has no gap, where known."""
    since: dict[str, datetime] = {}
    for tr in ev.tenant_runs:
        if not _is_segment(tr.tap) or not tr.complete or not _read_audit(tr.streams):
            continue
        starts = [
            run.started_at
            for run in ev.runs
            if _is_segment(run.tap)
            and run.started_at is not None
            and tr.tenant_id in run.tenant_ids
            and _read_audit(run.streams_for(tr.tenant_id))
        ]
        if starts:
            since[tr.tenant_id] = min(starts)
    return since


def no_recent_login(ev: RunHistory, cut: datetime) -> list[dict[str, Any]]:
    """Active accounts with no login, or (no login time known) no audit event, since `cut`."""
    trail = audit_trail_since(ev)
    found = []
    for a in ev.access_review:
        if a["status"] != "active":
            continue
        login = a.get("last_login_at")
        if login is not None:
            if login < cut:
                found.append(a)
            continue
        if a.get("system") != "segment":
            continue  # no login time and no audit trail: not judged
        since = trail.get(str(a.get("tenant_id")))
        first_seen = a.get("first_seen_at")
        if since is None or since > cut or first_seen is None or first_seen > cut:
            continue  # the trail or the account does not reach back far enough: unknown
        acted = a.get("last_activity_at")
        if acted is None or acted < cut:
            found.append(a)
    return found
