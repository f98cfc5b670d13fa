"""Who has access: users, groups, roles, invites, labels, tokens, and the audit trail."""

from __future__ import annotations

import bisect
import datetime as dt

from taps_sandbox.base import SEGMENT_TOKEN
from taps_sandbox.segment.core import RouteSpec, SegmentCore
from taps_sandbox.segment.data import SCOPED_SOURCE, SOURCE_SCOPED_USER, parse_time, secret_settings
from taps_sandbox.segment.workspace import TimeIndex, Workspace


class AccessArea(SegmentCore):
    """Users, groups (members, invites), roles, invites, labels, tokens, audit events."""

    def _route_table(self) -> list[RouteSpec]:
        """Users, groups (members, invites), roles, invites, labels, tokens, audit events."""
        c = self._collection
        return [
            *super()._route_table(),
            (
                "/users",
                lambda ws, q: self._list(
                    "users", q, ws.counts["users"], lambda i: self._user(ws, i)
                ),
            ),
            ("/groups", lambda ws, q: c(ws, q, "userGroups", "user_groups", "UserGroupV1")),
            ("/groups/([^/]+)/users", self._group_users),
            ("/groups/([^/]+)/invites", self._group_invites),
            ("/roles", lambda ws, q: c(ws, q, "roles", "roles", "RoleV1")),
            (
                "/invites",
                lambda ws, q: self._list(
                    "invites",
                    q,
                    ws.counts["invites"],
                    lambda i: f"invitee{ws.number}-{i}@example.com",
                ),
            ),
            ("/labels", self._labels),
            ("/audit-events", self._audit_events),
            ("/credentials", self._credentials),
        ]

    def _user(self, ws: Workspace, i: int) -> dict:
        """User ``i``; SOURCE_SCOPED_USER with roles scoped to a source and to a label."""
        user = ws.make("users", "UserV1", i)
        if i != SOURCE_SCOPED_USER:
            return user
        source = ws.oid("sources", SCOPED_SOURCE % ws.counts["sources"])
        prod = {"key": "environment", "value": "prod", "description": "Production"}
        return {
            **user,
            "permissions": [
                {
                    "roleId": "source-admin",
                    "roleName": "Source Admin",
                    "resources": [{"id": source, "type": "SOURCE", "labels": []}],
                    "labels": [],
                },
                {
                    "roleId": "source-read-only",
                    "roleName": "Source Read-only",
                    "resources": [{"id": ws.id, "type": "WORKSPACE", "labels": [prod]}],
                    "labels": [prod],
                },
                {
                    "roleId": "minimal-workspace-access",
                    "roleName": "Minimal Workspace Access",
                    "resources": [{"id": ws.id, "type": "WORKSPACE", "labels": []}],
                    "labels": [],
                },
            ],
        }

    def _group_users(self, ws: Workspace, q: dict, group_id: str) -> dict:
        i = self._child_of(ws, "user_groups", group_id)
        n = ws.counts["users"]
        members = n if i == 0 else min(n, 2 + i % 3)  # group 0 holds everyone: several pages
        return self._list(
            "users",
            q,
            members,
            lambda k: {
                key: value
                for key, value in ws.make("users", "UserV1", (i + k) % n).items()
                if key in ("id", "name", "email")
            },
        )

    def _group_invites(self, ws: Workspace, q: dict, group_id: str) -> dict:
        i = self._child_of(ws, "user_groups", group_id)
        return self._list("emails", q, 1 + i % 2, lambda k: f"group{i}-invitee{k}@example.com")

    def _labels(self, ws: Workspace, q: dict) -> dict:
        labels = []
        for i in range(ws.counts["labels"]):
            label = self.filler.model("LabelV1", i)
            label.update(key=("env", "team", "region")[i % 3], value=f"value{i}")
            labels.append(label)
        return {"labels": labels}  # the real endpoint has no pagination

    def _credentials(self, ws: Workspace, q: dict) -> dict:
        def item(i: int) -> dict:
            obj = ws.make("credentials", "CredentialV1", i)
            obj["settings"] = secret_settings(1000 + i)
            return obj

        return self._list("credentials", q, ws.counts["credentials"], item)

    def _audit_lo(self, ws: Workspace, start: dt.datetime) -> int:
        times = TimeIndex(ws)
        return bisect.bisect_left(times, start)

    def _audit_events(self, ws: Workspace, q: dict) -> dict:
        total = ws.audit_count()
        start = (q.get("startTime") or [None])[0]
        end = (q.get("endTime") or [None])[0]
        lo = self._audit_lo(ws, parse_time(start, "startTime")) if start else 0
        hi = self._audit_lo(ws, parse_time(end, "endTime")) if end else total
        hi = max(lo, hi)
        # Newest first: page position k is event hi - 1 - k.
        return self._list("events", q, hi - lo, lambda k: ws.audit_event(hi - 1 - k))

    def add_audit_events(self, n: int, token: str = SEGMENT_TOKEN) -> list[str]:
        """Append ``n`` events newer than any before (and not in the future); return ids."""
        ws = self.workspaces[token]
        first = ws.audit_count()
        ws._audit_added += n
        return [ws.audit_event(i)["id"] for i in range(first, first + n)]

    def audit_event_ids(self, start: str | None = None, token: str = SEGMENT_TOKEN) -> list[str]:
        """Ids of every event at or after ``start``."""
        ws = self.workspaces[token]
        lo = self._audit_lo(ws, parse_time(start, "startTime")) if start else 0
        return [ws.audit_event(i)["id"] for i in range(lo, ws.audit_count())]
