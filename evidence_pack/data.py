"""What the pack shows, read from the warehouse and put in plain Python values.

Only the columns the marts document are read (the `evidence.*` marts and the taps' `sync_runs`
manifest), so the report works the same on DuckDB (arrays land as JSON text through
target-duckdb) and on PostgreSQL (jsonb). Every time is held as an aware UTC datetime.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import MappingProxyType
from typing import Any

from evidence_pack import ReportError
from evidence_pack.activity import no_recent_login
from evidence_pack.contracts import mart_contracts
from evidence_pack.privacy import PRIVACY_MART
from evidence_pack.privacy import normalise as normalise_privacy
from evidence_pack.warehouse import Warehouse, select_sql

EVIDENCE_SCHEMA = "evidence"

# Columns read from each mart: all those its dbt contract declares, no other
# (transform/models/marts/<mart>.yml), so a column a mart does not declare is never read.
MART_COLUMNS: dict[str, list[str]] = {
    mart: [c.name for c in columns] for mart, columns in mart_contracts().items()
}
RECONCILIATION = "extract_reconciliation"
LEAVERS = "leaver_access"
# Decisions of recorded access reviews (`evidence-pack record-review`, evidence_pack/review.py)
# and the mart that follows their revokes up.
REVIEWS_SCHEMA = "evidence_reviews"
DECISIONS_TABLE = "access_decisions"
REVIEW_FOLLOWUP = "review_followup"
# Where each tap's tables are (its load_schema; the dbt vars segment_schema and fivetran_schema),
# by system: the pack reads each tap's `sync_runs` there.
DEFAULT_RAW_SCHEMAS: Mapping[str, str] = MappingProxyType(
    {"segment": "segment", "fivetran": "fivetran"}
)
SYNC_RUNS = "sync_runs"
SYNC_RUN_COLUMNS = [
    "run_id",
    "tap",
    "tap_version",
    "started_at",
    "finished_at",
    "status",
    "tenant_ids",
    "settings_fingerprint",
    "selected_streams",
    "streams",
]

UNUSED_KEY_DAYS = 90
PENDING_INVITE_DAYS = 30
NO_LOGIN_DAYS = 90


def to_utc(value: Any) -> datetime | None:
    """A timestamp from either warehouse as aware UTC (naive values are taken as UTC)."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if isinstance(value, str):
        try:
            return to_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))
        except ValueError:
            return None
    return None


def as_list(value: Any) -> list[Any]:
    """An array column: a list already (PostgreSQL, DuckDB lists) or JSON text (target-duckdb)."""
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    if isinstance(value, str):
        text = value.strip()
        if text.startswith(("[", "{")):
            try:
                parsed = json.loads(text)
            except ValueError:
                return [value]
            return parsed if isinstance(parsed, list) else [parsed]
        return [p.strip() for p in text.split(",") if p.strip()] if text else []
    return [value]


def as_bool(value: Any) -> bool:
    """A boolean column that may arrive as text or number."""
    if isinstance(value, str):
        return value.strip().lower() in {"true", "t", "1", "yes", "y"}
    return bool(value)


def as_int(value: Any) -> int:
    """A count; missing counts are 0."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


@dataclass
class StreamResult:
    """One stream of one run, for one tenant."""

    stream: str
    tenant_id: str | None
    status: str
    records: int
    requests: int
    reason: str


@dataclass
class Run:
    """One row of a tap's `sync_runs` manifest."""

    run_id: str
    tap: str
    tap_version: str
    started_at: datetime | None
    finished_at: datetime | None
    status: str
    tenant_ids: list[str]
    settings_fingerprint: str
    selected_streams: list[str]
    streams: list[StreamResult]

    def streams_for(self, tenant_id: str) -> list[StreamResult]:
        """This tenant's streams (entries without a tenant belong to every tenant of the run)."""
        return [s for s in self.streams if s.tenant_id in (None, "", tenant_id)]


@dataclass
class TenantRun:
    """The last complete run of one tap for one tenant, and the latest attempt if it failed.

    With no complete run at all, `run` is the latest run and `complete` is False, so the page
    can say the lists are not proven whole instead of leaving the tenant out.
    """

    tap: str
    tenant_id: str
    run: Run
    streams: list[StreamResult]
    later_failed: Run | None
    complete: bool = True


@dataclass
class LastReview:
    """The newest recorded access review: who signed it, when, on which pack, what it decided."""

    review_id: str
    reviewer: str
    decided_at: datetime | None
    pack_sha256: str  # SHA-256 of the reviewed pack's manifest.json
    keep: int
    revoke: int
    reviews: int  # reviews recorded in all


@dataclass
class Evidence:
    """Everything the page and the exports show."""

    warehouse: str
    now: datetime
    since: datetime
    since_source: str
    runs: list[Run]
    tenant_runs: list[TenantRun]
    access_review: list[dict[str, Any]]
    access_changes: list[dict[str, Any]]
    config_changes: list[dict[str, Any]]
    config_columns: list[str]
    credentials: list[dict[str, Any]]
    credential_columns: list[str]
    data_flows: list[dict[str, Any]]
    findings: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    # When the pack was made (`now` is when ages are measured from; --now may move it).
    generated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # evidence.extract_reconciliation, newest run first; None when the warehouse lacks it.
    reconciliation: list[dict[str, Any]] | None = None
    # evidence.privacy_requests (evidence_pack/privacy.py); None when the warehouse lacks it.
    privacy: list[dict[str, Any]] | None = None
    # evidence.leaver_access (evidence_pack/leavers.py); None when the warehouse lacks it.
    leavers: list[dict[str, Any]] | None = None
    # The newest recorded access review; None before the first one.
    last_review: LastReview | None = None
    # evidence.review_followup (every revoke of every review), newest first; None when the
    # warehouse lacks the mart.
    review_followup: list[dict[str, Any]] | None = None

    @property
    def privileged(self) -> list[dict[str, Any]]:
        """Privileged accounts that are not removed."""
        return [r for r in self.access_review if r["is_privileged"] and r["status"] != "removed"]

    @property
    def changes_since(self) -> list[dict[str, Any]]:
        """Access changes seen after `since`, newest first."""
        rows = [r for r in self.access_changes if r["seen_at"] and r["seen_at"] > self.since]
        return sorted(rows, key=lambda r: r["seen_at"], reverse=True)

    @property
    def config_changes_since(self) -> list[dict[str, Any]]:
        """Configuration changes seen after `since`, newest first."""
        rows = [r for r in self.config_changes if r["seen_at"] and r["seen_at"] > self.since]
        return sorted(rows, key=lambda r: r["seen_at"], reverse=True)


def _read_mart(wh: Warehouse, table: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows of one mart (documented columns only), or one line naming what is missing."""
    have = wh.columns(EVIDENCE_SCHEMA, table)
    if have is None:
        raise ReportError(
            f"{wh.label} has no table {EVIDENCE_SCHEMA}.{table}: build the marts first "
            "(`make demo` runs the dbt project in transform/)"
        )
    wanted = MART_COLUMNS[table]
    missing = [c for c in wanted if c not in have]
    if missing:
        raise ReportError(
            f"{EVIDENCE_SCHEMA}.{table} in {wh.label} lacks column(s) {', '.join(missing)}: "
            "rebuild the marts with this checkout's transform/ project"
        )
    rows = wh.rows(select_sql(wh.table_ref(EVIDENCE_SCHEMA, table), wanted))
    times = [c.name for c in mart_contracts()[table] if c.is_time]
    for row in rows:
        for name in times:
            row[name] = to_utc(row[name])
    return rows, list(wanted)


def _read_runs(wh: Warehouse, raw_schemas: Mapping[str, str]) -> list[Run]:
    """Every run of both taps' manifests; at least one manifest table must exist."""
    runs: list[Run] = []
    found = False
    table = SYNC_RUNS
    for system, schema in raw_schemas.items():
        have = wh.columns(schema, table)
        if have is None:
            continue
        found = True
        missing = [c for c in SYNC_RUN_COLUMNS if c not in have]
        if missing:
            raise ReportError(
                f"{schema}.{table} in {wh.label} lacks column(s) {', '.join(missing)}: "
                "load it with this checkout's taps"
            )
        for row in wh.rows(select_sql(wh.table_ref(schema, table), SYNC_RUN_COLUMNS)):
            streams = [
                StreamResult(
                    stream=str(s.get("stream") or ""),
                    tenant_id=None if s.get("tenant_id") is None else str(s["tenant_id"]),
                    status=str(s.get("status") or ""),
                    records=as_int(s.get("records")),
                    requests=as_int(s.get("requests")),
                    reason=str(s.get("reason") or ""),
                )
                for s in as_list(row["streams"])
                if isinstance(s, dict)
            ]
            runs.append(
                Run(
                    run_id=str(row["run_id"]),
                    tap=str(row["tap"] or system),
                    tap_version=str(row["tap_version"] or ""),
                    started_at=to_utc(row["started_at"]),
                    finished_at=to_utc(row["finished_at"]),
                    status=str(row["status"] or ""),
                    tenant_ids=[str(t) for t in as_list(row["tenant_ids"])],
                    settings_fingerprint=str(row["settings_fingerprint"] or ""),
                    selected_streams=[str(s) for s in as_list(row["selected_streams"])],
                    streams=streams,
                )
            )
    if not found:
        where = " nor ".join(f"{schema}.{table}" for schema in raw_schemas.values())
        raise ReportError(
            f"{wh.label} has neither {where}: load the taps first (`make demo`), the manifest "
            "is what proves the lists are complete; tables in other schemas (the extractors' "
            "load_schema): --segment-schema, --fivetran-schema"
        )
    return runs


def _when(run: Run) -> datetime:
    """Sort key for runs: finished (or started) time."""
    return run.finished_at or run.started_at or datetime.min.replace(tzinfo=UTC)


def last_complete_runs(runs: list[Run]) -> list[TenantRun]:
    """Per tap and tenant, the newest complete run, plus a newer failed attempt if there is one."""
    out: list[TenantRun] = []
    pairs = sorted({(r.tap, t) for r in runs for t in r.tenant_ids})
    for tap, tenant in pairs:
        mine = sorted((r for r in runs if r.tap == tap and tenant in r.tenant_ids), key=_when)
        complete = [r for r in mine if r.status == "complete"]
        if not complete:
            latest = mine[-1]
            out.append(TenantRun(tap, tenant, latest, latest.streams_for(tenant), None, False))
            continue
        last = complete[-1]
        later = [r for r in mine if _when(r) > _when(last) and r.status != "complete"]
        out.append(
            TenantRun(tap, tenant, last, last.streams_for(tenant), later[-1] if later else None)
        )
    return out


def default_since(runs: list[Run]) -> tuple[datetime | None, str]:
    """The end of the run before each tap's latest complete one (the later of the taps'), so
    the default shows what the latest runs found: "what changed since the last review run"."""
    previous: list[datetime] = []
    for tap in sorted({r.tap for r in runs}):
        done = sorted((r for r in runs if r.tap == tap and r.status == "complete"), key=_when)
        if len(done) >= 2:
            previous.append(_when(done[-2]))
    if previous:
        return max(previous), "the end of the previous complete run"
    return None, ""


def hygiene(ev: Evidence) -> dict[str, list[dict[str, Any]]]:
    """The four credential findings, measured from `ev.now`.

    Only what the APIs tell is judged, and removed keys not at all: a key without a last-use
    time is not called unused; an account without a login time only on an audit trail known
    to cover the whole window (evidence_pack/activity.py); an invite's age is its creation
    time or, where the API has none (Segment), the first run that saw it.
    """
    now = ev.now
    unused_cut = now - timedelta(days=UNUSED_KEY_DAYS)
    login_cut = now - timedelta(days=NO_LOGIN_DAYS)
    invite_cut = now - timedelta(days=PENDING_INVITE_DAYS)
    # A key the manifest shows gone cannot be misused any more: no finding.
    creds = [c for c in ev.credentials if str(c.get("status") or "").lower() != "removed"]
    return {
        "unused_keys": [c for c in creds if c["last_used_at"] and c["last_used_at"] < unused_cut],
        "never_expiring_keys": [c for c in creds if c["expires_at"] is None],
        "pending_invites": [
            a
            for a in ev.access_review
            if a["status"] == "invited"
            and (a["created_at"] or a["first_seen_at"])
            and (a["created_at"] or a["first_seen_at"]) < invite_cut
        ],
        "no_recent_login": no_recent_login(ev, login_cut),
    }


def read_privacy(wh: Warehouse) -> list[dict[str, Any]] | None:
    """The privacy requests mart, overdue and open first; None when it is not built (a
    warehouse from before it existed still gives a pack, whose page says it is missing)."""
    if wh.columns(EVIDENCE_SCHEMA, PRIVACY_MART) is None:
        return None
    rows, _ = _read_mart(wh, PRIVACY_MART)
    return normalise_privacy(rows)


def read_reconciliation(wh: Warehouse) -> list[dict[str, Any]] | None:
    """The reconciliation mart, newest run first; None when it is not built (a warehouse from
    before it existed still gives a pack, whose page says the check is missing)."""
    if wh.columns(EVIDENCE_SCHEMA, RECONCILIATION) is None:
        return None
    rows, _ = _read_mart(wh, RECONCILIATION)
    for row in rows:
        for name in ("manifest_records", "manifest_keys", "warehouse_records"):
            row[name] = None if row[name] is None else as_int(row[name])
        row["keys_match"] = None if row["keys_match"] is None else as_bool(row["keys_match"])
        row["status"] = str(row["status"] or "")
    oldest = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (str(r["system"]), str(r["tenant_id"]), str(r["stream"])))
    rows.sort(key=lambda r: r["run_started_at"] or oldest, reverse=True)
    return rows


def read_last_review(wh: Warehouse) -> LastReview | None:
    """The newest review in evidence_reviews.access_decisions; None before the first one (no
    table yet: record-review makes it)."""
    have = wh.columns(REVIEWS_SCHEMA, DECISIONS_TABLE)
    if have is None:
        return None
    cols = ["review_id", "decision", "reviewer", "decided_at", "pack_sha256"]
    missing = [c for c in cols if c not in have]
    if missing:
        raise ReportError(
            f"{REVIEWS_SCHEMA}.{DECISIONS_TABLE} in {wh.label} lacks column(s) "
            f"{', '.join(missing)}: it was not made by evidence-pack record-review"
        )
    rows = wh.rows(select_sql(wh.table_ref(REVIEWS_SCHEMA, DECISIONS_TABLE), cols))
    if not rows:
        return None
    for row in rows:
        row["decided_at"] = to_utc(row["decided_at"])
    oldest = datetime.min.replace(tzinfo=UTC)
    last = max(rows, key=lambda r: (r["decided_at"] or oldest, str(r["review_id"])))
    decided = [
        str(r["decision"] or "").strip().lower()
        for r in rows
        if r["review_id"] == last["review_id"]
    ]
    return LastReview(
        review_id=str(last["review_id"]),
        reviewer=str(last["reviewer"] or ""),
        decided_at=last["decided_at"],
        pack_sha256=str(last["pack_sha256"] or ""),
        keep=decided.count("keep"),
        revoke=decided.count("revoke"),
        reviews=len({r["review_id"] for r in rows}),
    )


def read_review_followup(wh: Warehouse) -> list[dict[str, Any]] | None:
    """evidence.review_followup, newest decision first; None when the mart is not built (a
    warehouse from before it still gives a pack)."""
    if wh.columns(EVIDENCE_SCHEMA, REVIEW_FOLLOWUP) is None:
        return None
    rows, _ = _read_mart(wh, REVIEW_FOLLOWUP)
    for row in rows:
        row["status"] = str(row["status"] or "")
        row["days_open"] = None if row["days_open"] is None else as_int(row["days_open"])
    oldest = datetime.min.replace(tzinfo=UTC)
    rows.sort(key=lambda r: (str(r["system"]), str(r["tenant_id"]), str(r["email"] or "")))
    rows.sort(key=lambda r: r["decided_at"] or oldest, reverse=True)
    return rows


def read_leavers(wh: Warehouse) -> list[dict[str, Any]] | None:
    """The leavers mart; None when it is not built (a warehouse from before it existed still
    gives a pack, whose Leavers section says so)."""
    if wh.columns(EVIDENCE_SCHEMA, LEAVERS) is None:
        return None
    rows, _ = _read_mart(wh, LEAVERS)
    return rows


def load(
    wh: Warehouse,
    *,
    now: datetime,
    since: datetime | None,
    raw_schemas: Mapping[str, str] = DEFAULT_RAW_SCHEMAS,
) -> Evidence:
    """Read everything once; `since=None` means "since the previous complete run"."""
    runs = _read_runs(wh, raw_schemas)
    access, _ = _read_mart(wh, "access_review")
    for row in access:
        row["roles"] = [str(r) for r in as_list(row["roles"])]
        row["is_privileged"] = as_bool(row["is_privileged"])
        row["status"] = str(row["status"] or "").lower()
    changes, _ = _read_mart(wh, "access_changes")
    config, config_cols = _read_mart(wh, "config_changes")
    creds, cred_cols = _read_mart(wh, "credentials_inventory")
    flows, _ = _read_mart(wh, "data_flows")
    source = "the date given with --since"
    if since is None:
        since, source = default_since(runs)
        if since is None:
            since, source = datetime(1970, 1, 1, tzinfo=UTC), "the beginning (only one run so far)"
    ev = Evidence(
        warehouse=wh.label,
        now=now,
        since=since,
        since_source=source,
        runs=runs,
        tenant_runs=last_complete_runs(runs),
        access_review=access,
        access_changes=changes,
        config_changes=config,
        config_columns=config_cols,
        credentials=creds,
        credential_columns=cred_cols,
        data_flows=flows,
        reconciliation=read_reconciliation(wh),
        privacy=read_privacy(wh),
        leavers=read_leavers(wh),
        last_review=read_last_review(wh),
        review_followup=read_review_followup(wh),
    )
    ev.findings = hygiene(ev)
    return ev
