"""The sandbox serves what privacy_requests and the access marts' grants and last activity need:
deletion requests with the API's statuses inside its 90 days (one unfinished past 30 days), a
user holding a role scoped to one of the workspace's sources, audit events by known users; and
world step 1 stops listing exactly one request."""

from __future__ import annotations

import datetime as dt

from taps_sandbox import segment as seg
from taps_sandbox import world as w
from taps_sandbox.base import SEGMENT_TOKEN_2, SandboxOptions
from taps_sandbox.segment import SegmentApi
from tests import privacy_grants_expected as expected

STATUSES = {"FAILED", "FINISHED", "INITIALIZED", "INVALID", "NOT_SUPPORTED", "PARTIAL_SUCCESS"}
STATUSES |= {"RUNNING"}
TYPES = {
    "DELETE_INTERNAL",
    "DELETE_ONLY",
    "SUPPRESS_ONLY",
    "SUPPRESS_WITH_DELETE",
    "SUPPRESS_WITH_DELETE_INTERNAL",
    "UNSUPPRESS",
}


def when(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_regulations_look_like_the_apis() -> None:
    api = SegmentApi(SandboxOptions(size="medium"))
    now = dt.datetime.now(dt.UTC)
    for token in api.workspaces:
        regs = api.get("/regulations", token=token, **{"pagination.count": "1000"})["data"][
            "regulations"
        ]
        assert regs
        for reg in regs:
            assert reg["status"] in STATUSES and reg["regulationType"] in TYPES, reg
            assert reg["subjectType"] in {"USER_ID", "OBJECT_ID"} and reg["subjects"], reg
            created = when(reg["createdAt"])
            assert now - dt.timedelta(days=90) < created < now, reg  # the API's 90 days
            running = reg["status"] in {"INITIALIZED", "RUNNING"}
            assert (reg["finishedAt"] is None) == running, reg
            if reg["finishedAt"]:
                assert created <= when(reg["finishedAt"]) <= now, reg
    # Overdue (unfinished, past 30 days) in workspace 1 at the small size the tests run.
    assert ("ws1sandbox", "regulations-1-1") in expected.overdue_regulations(30)


def test_step_one_stops_listing_one_request_and_keeps_the_rest() -> None:
    gone = expected.unlisted_regulation()
    assert gone.regulation_id == f"regulations-1-{w.SEGMENT_UNLISTED_REGULATION}"
    assert any(gone.regulation_id in c for c in w.CHANGES[1])
    before = SegmentApi(SandboxOptions())
    after = SegmentApi(SandboxOptions(world_step=1))
    after.world = w.World(1)
    second = [
        api.get("/regulations", token=SEGMENT_TOKEN_2)["data"]["regulations"]
        for api in (before, after)
    ]
    assert second[0] == second[1], "workspace 2 is the control"


def test_a_user_holds_a_role_on_a_generated_source() -> None:
    grant = expected.source_scoped_grant()
    assert grant.account_id == f"users-1-{seg.SOURCE_SCOPED_USER}"
    assert grant.source_id == f"sources-1-{seg.SCOPED_SOURCE}"
    assert grant.grant == f'Source Admin on source "{grant.source_name}"'


def test_audit_events_name_users_that_exist() -> None:
    actors = expected.segment_actors()
    assert {f"users-1-{k}" for k in range(seg.AUDIT_ACTORS)} <= set(actors)
    # The default start_date (30 days back) still finds recent activity for some of them.
    start = (dt.datetime.now(dt.UTC) - dt.timedelta(days=30)).isoformat()
    recent = expected.segment_actors(start)
    assert recent and set(recent) <= set(actors)
    assert f"users-1-{seg.SOURCE_SCOPED_USER}" not in actors  # no event: activity unknown
