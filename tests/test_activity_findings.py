"""The "no login for 90 days" finding for accounts without a login time (Segment): judged on
the latest audit event only where the audit trail on record covers the whole window, so an
account with no event is never called inactive on missing data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from evidence_pack.activity import audit_trail_since, no_recent_login
from evidence_pack.data import NO_LOGIN_DAYS, Evidence, Run, StreamResult, TenantRun, hygiene

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CUT = NOW - timedelta(days=NO_LOGIN_DAYS)
WS = "ws-1"


def ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


def run(run_id: str, started: datetime, audit: str = "complete") -> Run:
    streams = [
        StreamResult("users", WS, "complete", 3, 1, ""),
        StreamResult("audit_events", WS, audit, 5, 1, ""),
    ]
    return Run(
        run_id, "tap-segment", "1", started, started + timedelta(minutes=5), "complete",
        [WS], "fp", ["users", "audit_events"], streams,
    )  # fmt: skip


def account(ident: str, **kw: Any) -> dict[str, Any]:
    base = {
        "system": "segment",
        "tenant_id": WS,
        "account_id": ident,
        "email": f"{ident}@example.com",
        "status": "active",
        "created_at": None,
        "last_login_at": None,
        "last_activity_at": None,
        "first_seen_at": ago(200),
    }
    return {**base, **kw}


def evidence(runs: list[Run], accounts: list[dict[str, Any]]) -> Evidence:
    latest = runs[-1]
    ev = Evidence(
        warehouse="test",
        now=NOW,
        since=ago(1),
        since_source="a test",
        runs=runs,
        tenant_runs=[TenantRun("tap-segment", WS, latest, latest.streams_for(WS), None)],
        access_review=accounts,
        access_changes=[],
        config_changes=[],
        config_columns=[],
        credentials=[],
        credential_columns=[],
        data_flows=[],
    )
    ev.findings = hygiene(ev)
    return ev


ACCOUNTS = [
    account("old-event", last_activity_at=ago(120)),
    account("recent-event", last_activity_at=ago(10)),
    account("no-event"),
    account("new-account", first_seen_at=ago(20)),
    account("invitee", status="invited"),
    account("ft-old-login", system="fivetran", last_login_at=ago(150), first_seen_at=ago(20)),
    account("ft-no-login", system="fivetran", first_seen_at=ago(300)),
]


def found(ev: Evidence) -> list[str]:
    return sorted(a["account_id"] for a in ev.findings["no_recent_login"])


def test_a_trail_reaching_back_past_the_window_judges_segment_accounts() -> None:
    ev = evidence([run("r1", ago(100)), run("r2", ago(1))], ACCOUNTS)
    assert audit_trail_since(ev) == {WS: ago(100)}
    # No event in 90 days on a whole trail: inactive; an account listed for 20 days is new.
    assert found(ev) == ["ft-old-login", "no-event", "old-event"]


def test_a_short_trail_judges_no_segment_account() -> None:
    ev = evidence([run("r1", ago(60)), run("r2", ago(1))], ACCOUNTS)
    assert audit_trail_since(ev) == {WS: ago(60)}
    assert found(ev) == ["ft-old-login"]


def test_a_trail_the_latest_run_did_not_read_is_unknown() -> None:
    """The plan lost the audit trail (skipped) since: newer events may be missing."""
    ev = evidence([run("r1", ago(100)), run("r2", ago(1), audit="skipped")], ACCOUNTS)
    assert audit_trail_since(ev) == {}
    assert found(ev) == ["ft-old-login"]


def test_the_trail_starts_at_the_first_run_that_read_it_whole() -> None:
    """A run whose audit stream failed adds nothing: the trail starts at the next one."""
    runs = [run("r0", ago(120), audit="failed"), run("r1", ago(80)), run("r2", ago(1))]
    ev = evidence(runs, ACCOUNTS)
    assert audit_trail_since(ev) == {WS: ago(80)}
    assert found(ev) == ["ft-old-login"]


def test_no_recent_login_keeps_its_rule_for_login_times() -> None:
    ev = evidence([run("r1", ago(100)), run("r2", ago(1))], ACCOUNTS)
    assert [a["account_id"] for a in no_recent_login(ev, CUT) if a["system"] == "fivetran"] == [
        "ft-old-login"
    ]
