"""A small warehouse with the evidence marts (every column of their dbt contracts) and both
taps' `sync_runs`, written to a real DuckDB file or a real PostgreSQL database, for the
report's tests.

The marts also carry columns the report must never read, holding the sandbox's sentinel, so a
report that selects more than the documented columns leaks it and the sentinel scan fails.
Times are fixed around NOW so the hygiene findings are the same on every run.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from taps_sandbox.base import SENTINEL
from taps_sandbox.hostile import HYPERLINK, SCRIPT

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(days: float = 0, hours: float = 0) -> datetime:
    """NOW minus some days and hours."""
    return NOW - timedelta(days=days, hours=hours)


# logical type -> (DuckDB type, PostgreSQL type)
TYPES = {
    "text": ("VARCHAR", "text"),
    "ts": ("TIMESTAMP", "timestamptz"),
    "tstext": ("VARCHAR", "timestamptz"),  # target-duckdb may keep date-times as text
    "bool": ("BOOLEAN", "boolean"),
    "int": ("BIGINT", "bigint"),
    "json": ("VARCHAR", "jsonb"),  # target-duckdb: JSON text; target-postgres: jsonb
    "list": ("VARCHAR[]", "text[]"),
    "num": ("DECIMAL(12,2)", "numeric(12,2)"),  # the contracts' numeric(12,2)
}

RUN_COLUMNS = [
    ("run_id", "text"),
    ("tap", "text"),
    ("tap_version", "text"),
    ("started_at", "tstext"),
    ("finished_at", "tstext"),
    ("status", "text"),
    ("tenant_ids", "json"),
    ("settings_fingerprint", "text"),
    ("selected_streams", "json"),
    ("streams", "json"),
    ("_sdc_extracted_at", "ts"),
]


def _streams(tenants: list[str], spec: dict[str, tuple[str, int, int, str | None]]) -> list[dict]:
    """Manifest entries: every stream for every tenant, with per-tenant overrides."""
    out = []
    for tenant in tenants:
        for stream, (status, records, requests, reason) in spec.items():
            if "@" in stream:
                name, only = stream.split("@")
                if only != tenant:
                    continue
            else:
                name = stream
                if f"{name}@{tenant}" in spec:
                    continue
            out.append(
                {
                    "stream": name,
                    "tenant_id": tenant,
                    "status": status,
                    "records": records + (3 if tenant.endswith("beta") else 0),
                    "requests": requests,
                    "reason": reason,
                }
            )
    return out


def _run(
    run_id: str,
    tap: str,
    start: datetime,
    minutes: int,
    status: str,
    tenants: list[str],
    spec: dict[str, tuple[str, int, int, str | None]],
) -> dict[str, Any]:
    streams = _streams(tenants, spec)
    return {
        "run_id": run_id,
        "tap": tap,
        "tap_version": "0.1.0",
        "started_at": start.isoformat(),
        "finished_at": (start + timedelta(minutes=minutes)).isoformat(),
        "status": status,
        "tenant_ids": tenants,
        "settings_fingerprint": f"fp-{tap}-1",
        "selected_streams": sorted({s["stream"] for s in streams}),
        "streams": streams,
        "_sdc_extracted_at": start,
    }


SEG = ["ws-alpha", "ws-beta"]
SEG_OK = {
    "users": ("complete", 4, 2, None),
    "invites": ("complete", 2, 1, None),
    "sources": ("complete", 2, 1, None),
    "destinations": ("complete", 3, 2, None),
    "audit_events": ("skipped", 0, 1, "403 Forbidden on /audit-events: plan lacks the audit trail"),
}
SEG_BROKEN = {**SEG_OK, "users@ws-alpha": ("failed", 1, 9, "500 on /users after 8 retries")}
FIV = ["acct-main"]
FIV_NEW = ["acct-new"]  # an account added lately whose only run failed
FIV_OK = {
    "users": ("complete", 5, 1, None),
    "connections": ("complete", 3, 4, None),
    "system_keys": ("complete", 3, 1, None),
    "webhooks": ("skipped", 0, 1, "403 Forbidden on /webhooks: needs account-level read"),
}

SYNC_RUNS = {
    "segment": [
        _run("seg-run-1", "tap-segment", at(1, 2), 5, "complete", SEG, SEG_OK),
        _run(
            "seg-run-2",
            "tap-segment",
            at(0, 2),
            5,
            "complete",
            SEG,
            {**SEG_OK, "users": ("complete", 3, 2, None)},
        ),
        _run("seg-run-3", "tap-segment", at(0, 1), 3, "failed", SEG, SEG_BROKEN),
    ],
    "fivetran": [
        _run("fiv-run-1", "tap-fivetran", at(1, 1.9), 20, "complete", FIV, FIV_OK),
        _run(
            "fiv-run-2",
            "tap-fivetran",
            at(0, 1.9),
            20,
            "complete",
            FIV,
            {**FIV_OK, "system_keys": ("complete", 4, 1, None)},
        ),
        # An account added lately whose only run failed: shown, marked not proven whole.
        _run(
            "fiv-run-new",
            "tap-fivetran",
            at(0, 1.5),
            4,
            "failed",
            ["acct-new"],
            {**FIV_OK, "users": ("failed", 0, 9, "401 on /users: the key was revoked")},
        ),
    ],
}

ACCESS_COLUMNS = [
    ("system", "text"),
    ("tenant_id", "text"),
    ("account_id", "text"),
    ("email", "text"),
    ("name", "text"),
    ("roles", "list"),
    ("status", "text"),
    ("is_privileged", "bool"),
    ("created_at", "ts"),
    ("last_login_at", "ts"),
    ("first_seen_at", "ts"),
    ("last_seen_at", "ts"),
    ("grants", "text"),
    ("last_activity_at", "ts"),
    ("api_token", "text"),
]
FIRST, SECOND = at(1, 1.9), at(0, 1.9)
# What each account's roles apply to (the access marts' grants; resource names are anyone's
# text, markup included) and, for Segment users, the latest audit event they triggered.
GRANTS = {
    "u1": "Workspace Owner on workspace",
    "u2": 'Source Admin on source "<b>Web</b> app"; member of user group "Admins"',
    "u3": "Source Read-only on workspace [environment:prod]; Workspace Member on workspace",
    "fu1": 'Account Administrator on account; Destination Administrator on group "Snowflake prod"',
    "fu5": 'Account Analyst on account; Team Member in team "<i>analysts</i>"',
}
ACTIVITY = {"u1": at(2), "u3": at(120)}


def _acct(
    system: str,
    tenant: str,
    ident: str,
    email: str,
    name: str,
    roles: list[str],
    status: str,
    priv: bool,
    created: datetime | None,
    login: datetime | None,
    first: datetime = FIRST,
    last: datetime = SECOND,
) -> dict[str, Any]:
    return {
        "access_key": f"{system}|{tenant}|{ident}",
        "system": system,
        "tenant_id": tenant,
        "account_id": ident,
        "email": email,
        "name": name,
        "roles": roles,
        "status": status,
        "is_privileged": priv,
        "created_at": created,
        "last_login_at": login,
        "first_seen_at": first,
        "last_seen_at": last,
        "grants": GRANTS.get(ident),
        "last_activity_at": ACTIVITY.get(ident),
        "api_token": f"{SENTINEL}-token-of-{ident}",
    }


ACCESS_REVIEW = [
    _acct(
        "segment",
        "ws-alpha",
        "u1",
        "alice@example.com",
        "Alice Ng",
        ["Workspace Owner"],
        "active",
        True,
        None,
        None,
    ),
    _acct(
        "segment",
        "ws-alpha",
        "u2",
        "bob@example.com",
        "Bob Ruiz",
        ["Source Admin"],
        "active",
        True,
        None,
        None,
    ),
    _acct(
        "segment",
        "ws-alpha",
        "u3",
        "carol@example.com",
        "Carol Ito",
        ["Workspace Member", "Source Read-only"],
        "active",
        False,
        None,
        None,
    ),
    _acct(
        "segment",
        "ws-alpha",
        "u4",
        "dave@example.com",
        "Dave Kim",
        ["Workspace Member"],
        "removed",
        False,
        None,
        None,
        last=FIRST,
    ),
    _acct(
        "segment",
        "ws-alpha",
        "eve@example.com",
        "eve@example.com",
        "",
        [],
        "invited",
        False,
        None,
        None,
        first=at(61),
    ),
    _acct(
        "segment",
        "ws-alpha",
        "frank@example.com",
        "frank@example.com",
        "",
        [],
        "invited",
        False,
        None,
        None,
        first=SECOND,
    ),
    _acct(
        "segment",
        "ws-beta",
        "u5",
        "grace@example.com",
        "Grace Obi",
        ["Workspace Owner"],
        "active",
        True,
        None,
        None,
    ),
    _acct(
        "fivetran",
        "acct-main",
        "fu1",
        "heidi@example.com",
        "Heidi Park",
        ["Account Administrator"],
        "active",
        True,
        at(700),
        at(2),
    ),
    _acct(
        "fivetran",
        "acct-main",
        "fu2",
        "ivan@example.com",
        "Ivan Petrov",
        ["Account Reviewer"],
        "active",
        False,
        at(400),
        at(153),
    ),
    _acct(
        "fivetran",
        "acct-main",
        "fu3",
        "judy@example.com",
        "Judy Alves",
        ["Account Analyst"],
        "invited",
        False,
        at(47),
        None,
    ),
    _acct(
        "fivetran",
        "acct-main",
        "fu4",
        "mallory@example.com",
        "Mallory Stone",
        ["Account Administrator"],
        "removed",
        True,
        at(300),
        at(40),
        last=FIRST,
    ),
    _acct(
        "fivetran",
        "acct-main",
        "fu5",
        "niaj@example.com",
        'Niaj <b>O\'Brien</b> "N"',
        ["Account Analyst"],
        "active",
        False,
        at(20),
        None,
        first=SECOND,
    ),
    # Disabled in Fivetran (active: false): still listed, Deactivated without a date.
    _acct(
        "fivetran",
        "acct-main",
        "fu6",
        "oscar@example.com",
        "Oscar Lind",
        ["Account Reviewer"],
        "inactive",
        False,
        at(800),
        at(200),
    ),
]

CHANGE_COLUMNS = [
    ("seen_at", "ts"),
    ("system", "text"),
    ("tenant_id", "text"),
    ("account_id", "text"),
    ("email", "text"),
    ("change", "text"),
    ("resource", "text"),
    ("before", "text"),
    ("after", "text"),
]
SEG_SECOND_END = at(0, 2) + timedelta(minutes=5)
FIV_SECOND_END = at(0, 1.9) + timedelta(minutes=20)
FIV_FIRST_END = at(1, 1.9) + timedelta(minutes=20)
ACCESS_CHANGES = [
    # Seen by the first runs: before the default "since" (the end of the previous runs).
    {
        "seen_at": FIV_FIRST_END,
        "system": "fivetran",
        "tenant_id": "acct-main",
        "account_id": "fu1",
        "email": "heidi@example.com",
        "change": "granted",
        "resource": "account",
        "before": None,
        "after": "Account Administrator",
    },
    # Seen by the second runs.
    {
        "seen_at": SEG_SECOND_END,
        "system": "segment",
        "tenant_id": "ws-alpha",
        "account_id": "u4",
        "email": "dave@example.com",
        "change": "removed",
        "resource": "workspace",
        "before": "Workspace Member",
        "after": None,
    },
    {
        "seen_at": SEG_SECOND_END,
        "system": "segment",
        "tenant_id": "ws-alpha",
        "account_id": "u2",
        "email": "bob@example.com",
        "change": "role_changed",
        "resource": "workspace",
        "before": "Workspace Member",
        "after": "Source Admin",
    },
    {
        "seen_at": SEG_SECOND_END,
        "system": "segment",
        "tenant_id": "ws-alpha",
        "account_id": "frank@example.com",
        "email": "frank@example.com",
        "change": "invited",
        "resource": "workspace",
        "before": None,
        "after": "invited",
    },
    {
        "seen_at": FIV_SECOND_END,
        "system": "fivetran",
        "tenant_id": "acct-main",
        "account_id": "fu4",
        "email": "mallory@example.com",
        "change": "removed",
        "resource": "account",
        "before": "Account Administrator",
        "after": None,
    },
    {
        "seen_at": FIV_SECOND_END,
        "system": "fivetran",
        "tenant_id": "acct-main",
        "account_id": "fu5",
        "email": "niaj@example.com",
        "change": "granted",
        "resource": "team:analysts",
        "before": None,
        "after": "Team Member",
    },
]

CRED_COLUMNS = [
    ("system", "text"),
    ("tenant_id", "text"),
    ("credential_id", "text"),
    ("name", "text"),
    ("kind", "text"),
    ("created_at", "ts"),
    ("last_used_at", "ts"),
    ("expires_at", "ts"),
    ("age_days", "int"),
    ("unused_days", "int"),
    ("status", "text"),
    ("owner", "text"),
    ("secret", "text"),
]


def _cred(
    system: str,
    tenant: str,
    ident: str,
    name: str,
    kind: str,
    created: datetime,
    used: datetime | None,
    expires: datetime | None,
    status: str = "active",
) -> dict[str, Any]:
    return {
        "system": system,
        "tenant_id": tenant,
        "credential_id": ident,
        "name": name,
        "kind": kind,
        "created_at": created,
        "last_used_at": used,
        "expires_at": expires,
        "age_days": (NOW - created).days,
        "unused_days": (NOW - used).days if used else None,
        "status": status,
        "owner": name if kind == "user_api_key" else None,
        "secret": f"{SENTINEL}-key-{ident}",
    }


CREDENTIALS = [
    _cred("fivetran", "acct-main", "k1", "ci-key", "system_key", at(180), at(1), at(-180)),
    _cred("fivetran", "acct-main", "k2", "old-key", "system_key", at(700), at(183), None),
    _cred("fivetran", "acct-main", "k3", "new-key", "system_key", at(30), None, None),
    _cred(
        "fivetran",
        "acct-main",
        "fu1",
        "heidi@example.com",
        "user_api_key",
        at(500),
        at(108),
        at(-30),
    ),
    _cred("segment", "ws-alpha", "cred1", "warehouse-loader", "credential", at(275), None, None),
    # Revoked: old and never expiring, but gone, so no finding.
    _cred(
        "fivetran",
        "acct-main",
        "k0",
        "revoked-key",
        "system_key",
        at(900),
        at(400),
        None,
        "removed",
    ),
]

FLOW_COLUMNS = [
    ("system", "text"),
    ("tenant_id", "text"),
    ("from_type", "text"),
    ("from_id", "text"),
    ("from_name", "text"),
    ("to_type", "text"),
    ("to_id", "text"),
    ("to_name", "text"),
    ("status", "text"),
    ("tables_enabled", "text"),
    ("tables_enabled_count", "int"),
    ("settings", "text"),
]


def _flow(
    system: str,
    tenant: str,
    ft: str,
    fi: str,
    fn: str,
    tt: str,
    ti: str,
    tn: str,
    tables: int | None = None,
    status: str = "active",
) -> dict[str, Any]:
    """One edge as the mart has it: enabled tables as comma-separated names and a count."""
    names = ", ".join(f"public.table_{i}" for i in range(tables)) if tables else None
    return {
        "system": system,
        "tenant_id": tenant,
        "from_type": ft,
        "from_id": fi,
        "from_name": fn,
        "to_type": tt,
        "to_id": ti,
        "to_name": tn,
        "status": status,
        "tables_enabled": names,
        "tables_enabled_count": tables,
        "settings": json.dumps({"writeKey": f"{SENTINEL}-write-key-{fi}"}),
    }


DATA_FLOWS = [
    # Removed edges stay in the mart, marked; disabled ones too.
    _flow(
        "fivetran",
        "acct-main",
        "connection",
        "conn4",
        "hubspot",
        "destination",
        "dest1",
        "Snowflake prod",
        None,
        "removed",
    ),
    _flow(
        "segment",
        "ws-beta",
        "source",
        "src3",
        "Backend",
        "destination",
        "dst3",
        "Mixpanel",
        None,
        "disabled",
    ),
    _flow("segment", "ws-alpha", "source", "src1", "Website", "destination", "dst1", "Amplitude"),
    _flow("segment", "ws-alpha", "source", "src1", "Website", "warehouse", "wh1", "Snowflake"),
    _flow("segment", "ws-alpha", "source", "src2", "iOS app", "destination", "dst1", "Amplitude"),
    _flow("segment", "ws-alpha", "source", "src2", "iOS app", "destination", "dst2", "Braze"),
    _flow("segment", "ws-beta", "source", "src3", "Backend", "warehouse", "wh2", "BigQuery"),
    _flow(
        "fivetran",
        "acct-main",
        "connection",
        "conn1",
        "salesforce",
        "destination",
        "dest1",
        "Snowflake prod",
        12,
    ),
    _flow(
        "fivetran",
        "acct-main",
        "connection",
        "conn2",
        "postgres_app",
        "destination",
        "dest1",
        "Snowflake prod",
        3,
    ),
    _flow(
        "fivetran",
        "acct-main",
        "connection",
        "conn3",
        "stripe",
        "destination",
        "dest2",
        "BigQuery",
        0,
    ),
]

CONFIG_COLUMNS = [
    ("change_id", "text"),
    ("seen_at", "ts"),
    ("system", "text"),
    ("tenant_id", "text"),
    ("object_type", "text"),
    ("object_id", "text"),
    ("object_name", "text"),
    ("change", "text"),
    ("field", "text"),
    ("before", "text"),
    ("after", "text"),
    ("raw_config", "text"),  # never read: holds the sentinel
]


def _config(
    seen: datetime,
    system: str,
    tenant: str,
    kind: str,
    ident: str,
    name: str,
    change: str,
    fld: str | None,
    before: str | None,
    after: str | None,
) -> dict:
    return {
        "change_id": f"{system}-{ident}-{fld}-{seen:%H%M}",
        "seen_at": seen,
        "system": system,
        "tenant_id": tenant,
        "object_type": kind,
        "object_id": ident,
        "object_name": name,
        "change": change,
        "field": fld,
        "before": before,
        "after": after,
        "raw_config": json.dumps({"password": f"{SENTINEL}-config-{ident}"}),
    }


CONFIG_CHANGES = [
    _config(
        FIV_SECOND_END,
        "fivetran",
        "acct-main",
        "connection",
        "conn1",
        "salesforce",
        "changed",
        "sync_frequency",
        "360",
        "60",
    ),
    _config(
        FIV_SECOND_END,
        "fivetran",
        "acct-main",
        "connection",
        "conn2",
        "postgres_app",
        "changed",
        "config",
        '{"host": "db", "password": "**REDACTED**", "port": 5432}',
        '{"host": "db2", "password": "**REDACTED**", "port": 5432}',
    ),
    _config(
        FIV_SECOND_END,
        "fivetran",
        "acct-main",
        "connection",
        "conn4",
        "hubspot",
        "removed",
        None,
        None,
        None,
    ),
    _config(
        SEG_SECOND_END - timedelta(days=1),
        "segment",
        "ws-alpha",
        "destination",
        "dst1",
        "Amplitude",
        "changed",
        "enabled",
        "false",
        "true",
    ),
]

# Two recorded access reviews (evidence_reviews.access_decisions, as `evidence-pack
# record-review` writes it) and their follow-up mart: the last one signed by a hostile name,
# one revoke done, one still open with a formula for a comment.
DECISION_COLUMNS = [
    ("review_id", "text"),
    ("access_key", "text"),
    ("system", "text"),
    ("tenant_id", "text"),
    ("account_id", "text"),
    ("email", "text"),
    ("decision", "text"),
    ("comment", "text"),
    ("reviewer", "text"),
    ("decided_at", "ts"),
    ("pack_sha256", "text"),
]
FIRST_REVIEW, LAST_REVIEW = "review-first", "review-last"
REVIEWERS = {FIRST_REVIEW: "Rita Auditor", LAST_REVIEW: SCRIPT}
REVIEWED_AT = {FIRST_REVIEW: at(20), LAST_REVIEW: at(3)}
REVIEWED_PACK = {FIRST_REVIEW: "1" * 64, LAST_REVIEW: "ab" * 32}


def _decision(
    review: str, system: str, tenant: str, ident: str, decision: str, comment: str
) -> dict[str, Any]:
    email = next(a["email"] for a in ACCESS_REVIEW if a["account_id"] == ident)
    return {
        "review_id": review,
        "access_key": f"{system}|{tenant}|{ident}",
        "system": system,
        "tenant_id": tenant,
        "account_id": ident,
        "email": email,
        "decision": decision,
        "comment": comment,
        "reviewer": REVIEWERS[review],
        "decided_at": REVIEWED_AT[review],
        "pack_sha256": REVIEWED_PACK[review],
    }


DECISIONS = [
    _decision(FIRST_REVIEW, "fivetran", "acct-main", "fu4", "revoke", "admin, left"),
    _decision(FIRST_REVIEW, "segment", "ws-alpha", "u1", "keep", ""),
    _decision(LAST_REVIEW, "fivetran", "acct-main", "fu2", "revoke", HYPERLINK),
    _decision(LAST_REVIEW, "segment", "ws-alpha", "u4", "revoke", "no longer needed"),
    _decision(LAST_REVIEW, "segment", "ws-alpha", "u1", "keep", "owner"),
    _decision(LAST_REVIEW, "fivetran", "acct-main", "fu1", "keep", ""),
]
FOLLOWUP_COLUMNS = [
    ("status", "text"),
    ("done_at", "ts"),
    ("days_open", "int"),
    ("raw_decision", "text"),  # never read: holds the sentinel
]
# Done: fu4 and u4, removed by the second runs (after both decisions); open: fu2, still active.
DONE_AT = {"fu4": FIV_SECOND_END, "u4": SEG_SECOND_END}
REVIEW_FOLLOWUP = [
    {
        **d,
        "status": "done" if d["account_id"] in DONE_AT else "open",
        "done_at": DONE_AT.get(d["account_id"]),
        "days_open": ((DONE_AT.get(d["account_id"]) or NOW) - d["decided_at"]).days,
        "later_keep_at": None,
        "raw_decision": f"{SENTINEL}-decision-{d['account_id']}",
    }
    for d in DECISIONS
    if d["decision"] == "revoke"
]

# Segment deletion and suppression requests (privacy_requests): one finished, one overdue,
# one new, one the API no longer lists (overdue, never seen finished), one failed. The
# subjects column is not in the contract: it holds the sentinel, so a pack that read it leaks.
PRIVACY_COLUMNS = [
    ("request_key", "text"),
    ("system", "text"),
    ("tenant_id", "text"),
    ("regulation_id", "text"),
    ("type", "text"),
    ("subject_type", "text"),
    ("subject_count", "int"),
    ("created_at", "ts"),
    ("finished_at", "ts"),
    ("status", "text"),
    ("age_days", "int"),
    ("overdue", "bool"),
    ("still_listed", "bool"),
    ("first_seen_at", "ts"),
    ("last_seen_at", "ts"),
    ("subjects", "text"),
]


def _request(
    tenant: str,
    ident: str,
    kind: str,
    status: str,
    created: datetime,
    finished: datetime | None,
    *,
    listed: bool = True,
) -> dict[str, Any]:
    age = ((finished or NOW) - created).days
    return {
        "request_key": f"segment|{tenant}|{ident}",
        "system": "segment",
        "tenant_id": tenant,
        "regulation_id": ident,
        "type": kind,
        "subject_type": "USER_ID",
        "subject_count": 2,
        "created_at": created,
        "finished_at": finished,
        "status": status,
        "age_days": age,
        "overdue": finished is None and age > 30,
        "still_listed": listed,
        "first_seen_at": FIRST,
        "last_seen_at": SECOND if listed else FIRST,
        "subjects": json.dumps([f"{SENTINEL}-subject-{ident}", "person@example.com"]),
    }


PRIVACY_REQUESTS = [
    _request("ws-alpha", "reg-done", "DELETE_ONLY", "FINISHED", at(50), at(40)),
    _request("ws-alpha", "reg-late", "SUPPRESS_WITH_DELETE", "RUNNING", at(41), None),
    _request("ws-beta", "reg-new", "DELETE_INTERNAL", "INITIALIZED", at(2), None),
    _request("ws-alpha", "reg-gone", "DELETE_ONLY", "RUNNING", at(95), None, listed=False),
    _request("ws-alpha", "reg-failed", "DELETE_ONLY", "FAILED", at(6), at(5)),
]

# Leavers of the HR roster and their accounts (evidence.leaver_access): one removed late, one
# in time, three still there; the roster's emails are typed by people too, so two are hostile
# (one also an invite's account id). hr_record is not in the contract: it holds the sentinel.
LEAVER_COLUMNS = [
    ("email", "text"),
    ("terminated_at", "ts"),
    ("system", "text"),
    ("tenant_id", "text"),
    ("account_id", "text"),
    ("status", "text"),
    ("removed_at", "ts"),
    ("days_to_removal", "num"),
    ("outcome", "text"),
    ("hr_record", "text"),
]


def _leaver(
    email: str,
    left: datetime,
    system: str,
    tenant: str,
    ident: str,
    status: str,
    removed: datetime | None,
    outcome: str,
) -> dict[str, Any]:
    days = None
    if removed is not None:
        days = Decimal((removed - left).total_seconds() / 86400).quantize(Decimal("0.01"))
    return {
        "email": email,
        "terminated_at": left,
        "system": system,
        "tenant_id": tenant,
        "account_id": ident,
        "status": status,
        "removed_at": removed,
        "days_to_removal": days,
        "outcome": outcome,
        "hr_record": f"{SENTINEL}-hr-{ident}",
    }


HOSTILE_LEAVER = f"{SCRIPT}@evil.example"
LEAVER_ACCESS = [
    _leaver(
        "Dave@Example.com",
        at(20),
        "segment",
        "ws-alpha",
        "u4",
        "removed",
        SEG_SECOND_END,
        "removed_late",
    ),
    _leaver(
        "mallory@example.com",
        at(0, 20),
        "fivetran",
        "acct-main",
        "fu4",
        "removed",
        FIV_SECOND_END,
        "removed_in_time",
    ),
    _leaver("bob@example.com", at(3), "segment", "ws-alpha", "u2", "active", None, "still_active"),
    _leaver(
        HOSTILE_LEAVER,
        at(5),
        "segment",
        "ws-alpha",
        HOSTILE_LEAVER,
        "invited",
        None,
        "still_active",
    ),
    _leaver(HYPERLINK, at(9), "fivetran", "acct-main", "fu6", "inactive", None, "still_active"),
]

# The dbt contract's data types as the fixture's logical types.
CONTRACT_KINDS = {"text": "text", "timestamp": "ts", "boolean": "bool", "integer": "int"}


def contracted(mart: str, cols: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """``cols`` plus the other columns the mart's dbt contract declares, null here: a mart
    built by transform/ holds them all, and the report reads every one of them."""
    from evidence_pack.contracts import mart_contracts

    have = {c for c, _ in cols}
    return cols + [
        (c.name, CONTRACT_KINDS[c.data_type]) for c in mart_contracts()[mart] if c.name not in have
    ]


TABLES: list[tuple[str, str, list[tuple[str, str]], list[dict[str, Any]]]] = [
    ("segment", "sync_runs", RUN_COLUMNS, SYNC_RUNS["segment"]),
    ("fivetran", "sync_runs", RUN_COLUMNS, SYNC_RUNS["fivetran"]),
    ("evidence", "access_review", contracted("access_review", ACCESS_COLUMNS), ACCESS_REVIEW),
    ("evidence", "access_changes", contracted("access_changes", CHANGE_COLUMNS), ACCESS_CHANGES),
    (
        "evidence",
        "credentials_inventory",
        contracted("credentials_inventory", CRED_COLUMNS),
        CREDENTIALS,
    ),
    ("evidence", "data_flows", contracted("data_flows", FLOW_COLUMNS), DATA_FLOWS),
    ("evidence", "config_changes", contracted("config_changes", CONFIG_COLUMNS), CONFIG_CHANGES),
    ("evidence", "leaver_access", contracted("leaver_access", LEAVER_COLUMNS), LEAVER_ACCESS),
    (
        "evidence",
        "privacy_requests",
        contracted("privacy_requests", PRIVACY_COLUMNS),
        PRIVACY_REQUESTS,
    ),
    ("evidence_reviews", "access_decisions", DECISION_COLUMNS, DECISIONS),
    (
        "evidence",
        "review_followup",
        contracted("review_followup", FOLLOWUP_COLUMNS),
        REVIEW_FOLLOWUP,
    ),
]


def _value(kind: str, value: Any, *, duckdb: bool) -> Any:
    """A Python value as each warehouse's loader would store it."""
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value)
    if kind == "ts" and duckdb:
        return value.astimezone(UTC).replace(tzinfo=None)  # TIMESTAMP holds UTC, naive
    return value


def write_duckdb(path: Path, *, skip: set[str] = frozenset()) -> Path:
    """The fixture as a DuckDB file (`skip`: "schema.table" names to leave out)."""
    import duckdb

    with duckdb.connect(str(path)) as con:
        for schema, table, cols, rows in TABLES:
            if f"{schema}.{table}" in skip:
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            ddl = ", ".join(f'"{c}" {TYPES[k][0]}' for c, k in cols)
            con.execute(f"CREATE TABLE {schema}.{table} ({ddl})")
            marks = ", ".join("?" for _ in cols)
            con.executemany(
                f"INSERT INTO {schema}.{table} VALUES ({marks})",
                [[_value(k, r.get(c), duckdb=True) for c, k in cols] for r in rows],
            )
    return path


def write_postgres(dsn: str) -> None:
    """The fixture in a PostgreSQL database (arrays as jsonb, as target-postgres loads them)."""
    import psycopg
    from psycopg.types.json import Jsonb

    with psycopg.connect(dsn, autocommit=True) as con:
        for schema, table, cols, rows in TABLES:
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            con.execute(f"DROP TABLE IF EXISTS {schema}.{table}")
            ddl = ", ".join(f'"{c}" {TYPES[k][1]}' for c, k in cols)
            con.execute(f"CREATE TABLE {schema}.{table} ({ddl})")
            marks = ", ".join("%s" for _ in cols)
            with con.cursor() as cur:
                cur.executemany(
                    f"INSERT INTO {schema}.{table} VALUES ({marks})",
                    [[Jsonb(r[c]) if k == "json" else r.get(c) for c, k in cols] for r in rows],
                )
