"""What the sandbox's world should leave in privacy_requests and in the access marts' grants
and last_activity_at, worked out from what the sandbox serves (not from the models), for the
end-to-end tests: the request step 1 stops listing, the source-scoped Segment role and the
grant text naming its source, the accounts the audit trail shows acting, and every subject
value (personal data that must reach no evidence table).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from taps_sandbox import segment as seg
from taps_sandbox import world as w
from taps_sandbox.base import SEGMENT_TOKEN, SandboxOptions
from taps_sandbox.server import Sandbox


def _segment(step: int = 0) -> Any:
    """The Segment API of a sandbox (not started) whose world is at ``step``."""
    return Sandbox(SandboxOptions(world_step=step), port=0).apis["segment"]


def _all(api: Any, path: str, key: str) -> list[Any]:
    return api.get(path, **{"pagination.count": "1000"})["data"][key]


@dataclass(frozen=True)
class UnlistedRequest:
    """The request world step 1 stops listing: privacy_requests keeps it, still_listed false."""

    tenant_id: str
    regulation_id: str
    status: str
    finished: bool


def unlisted_regulation() -> UnlistedRequest:
    """The regulation served at step 0 and no longer at step 1 (checked, not assumed)."""
    before, after = _segment(0), _segment(1)
    ids0 = {r["id"]: r for r in _all(before, "/regulations", "regulations")}
    ids1 = {r["id"] for r in _all(after, "/regulations", "regulations")}
    gone = sorted(set(ids0) - ids1)
    assert gone == [f"regulations-1-{w.SEGMENT_UNLISTED_REGULATION}"], gone
    reg = ids0[gone[0]]
    return UnlistedRequest(
        before.workspace_id(1), reg["id"], reg["status"], reg.get("finishedAt") is not None
    )


def overdue_regulations(deadline_days: int = 30) -> set[tuple[str, str]]:
    """(workspace id, regulation id) of every request served at step 0, in both workspaces,
    that is unfinished and more whole days old (UTC dates) than ``deadline_days`` today."""
    api = _segment(0)
    today = dt.datetime.now(dt.UTC).date()
    out = set()
    for token, ws in api.workspaces.items():
        for reg in api.get("/regulations", token=token, **{"pagination.count": "1000"})["data"][
            "regulations"
        ]:
            created = dt.datetime.fromisoformat(reg["createdAt"].replace("Z", "+00:00")).date()
            if reg.get("finishedAt") is None and (today - created).days > deadline_days:
                out.add((ws.id, reg["id"]))
    return out


def regulation_subjects() -> set[str]:
    """Every subject value the sandbox serves in a request: none may reach an evidence table."""
    api = _segment(0)
    return {
        s
        for token in api.workspaces
        for reg in api.get("/regulations", token=token, **{"pagination.count": "1000"})["data"][
            "regulations"
        ]
        for s in reg.get("subjects") or []
    }


@dataclass(frozen=True)
class ScopedGrant:
    """The Segment user holding a role on one source, and the grant text naming that source."""

    tenant_id: str
    account_id: str
    source_id: str
    source_name: str
    grant: str  # one grant of the account's `grants`, '; ' between grants


def source_scoped_grant() -> ScopedGrant:
    """Workspace 1's user with a SOURCE-scoped permission, and `Role on source "Name"`."""
    api = _segment(0)
    sources = {s["id"]: s for s in _all(api, "/sources", "sources")}
    for user in _all(api, "/users", "users"):
        for perm in user.get("permissions") or []:
            for res in perm.get("resources") or []:
                if res.get("type") == "SOURCE" and res.get("id") in sources:
                    source = sources[res["id"]]
                    assert user["id"] == f"users-1-{seg.SOURCE_SCOPED_USER}", user["id"]
                    return ScopedGrant(
                        api.workspace_id(1),
                        user["id"],
                        source["id"],
                        source["name"],
                        f'{perm["roleName"]} on source "{source["name"]}"',
                    )
    raise AssertionError("no Segment user holds a source-scoped role")


def segment_actors(start: str | None = None) -> dict[str, str]:
    """user id -> the time (ISO-8601) of the user's latest audit event at or after ``start``
    (the tap's start_date: 30 days back by default), workspace 1, matched by actorEmail as the
    models match it. Users missing here have no event on record: last_activity_at is null."""
    api = _segment(0)
    users = {u["email"].strip().lower(): u["id"] for u in _all(api, "/users", "users")}
    ws = api.workspaces[SEGMENT_TOKEN]
    lo = api._audit_lo(ws, seg.parse_time(start, "startTime")) if start else 0
    latest: dict[str, str] = {}
    for i in range(lo, ws.audit_count()):
        event = ws.audit_event(i)
        uid = users.get(str(event.get("actorEmail") or "").strip().lower())
        if uid is None and event.get("actor") in users.values():
            uid = event["actor"]
        if uid is not None and event["timestamp"] > latest.get(uid, ""):
            latest[uid] = event["timestamp"]
    return latest
