"""`index.html`: one file with its CSS and JS inline, readable from disk with no network.

Tables are rendered here, in Python, so the page shows its numbers even with scripts off; the
inline script only sorts and filters. A Content-Security-Policy of `default-src 'none'` makes
the browser refuse any fetch the page might try, so it cannot reach the network by mistake.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html import escape
from typing import Any

from evidence_pack.data import (
    NO_LOGIN_DAYS,
    PENDING_INVITE_DAYS,
    UNUSED_KEY_DAYS,
    Evidence,
    TenantRun,
)
from evidence_pack.diagram import edge_id, tables_of, unique_flows
from evidence_pack.leavers import leavers_section
from evidence_pack.privacy import PRIVACY_COLUMNS
from evidence_pack.privacy import counts as privacy_counts
from evidence_pack.tables import badge, count, fmt_time, table

CSS = """
:root{--fg:#0f172a;--muted:#64748b;--line:#e2e8f0;--bad:#b91c1c;--warn:#b45309;--ok:#15803d}
*{box-sizing:border-box}body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Helvetica,Arial,
sans-serif;color:var(--fg);margin:0;background:#f8fafc}header{background:#0f172a;color:#fff;
padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}header p{margin:2px 0;color:#cbd5e1}
nav{position:sticky;top:0;background:#fff;border-bottom:1px solid var(--line);padding:8px 28px;
z-index:2}nav a{margin-right:16px;color:#1d4ed8;text-decoration:none}main{padding:0 28px 40px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;margin:20px 0;
padding:16px 20px}h2{margin:0 0 10px;font-size:18px}h3{margin:18px 0 6px;font-size:15px}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}.card{background:#fff;border:1px
solid var(--line);border-radius:8px;padding:10px 14px;min-width:150px}.card b{display:block;
font-size:22px}.card span{color:var(--muted);font-size:12px}table{border-collapse:collapse;
width:100%;margin:6px 0 12px;font-size:13px}th,td{border-bottom:1px solid var(--line);
padding:4px 8px;text-align:left;vertical-align:top;max-width:36em;overflow-wrap:anywhere}
th{background:#f1f5f9;position:relative}
table.sortable th{cursor:pointer;user-select:none}th[aria-sort=ascending]::after{content:" \\25B2"}
th[aria-sort=descending]::after{content:" \\25BC"}td.num{text-align:right;font-variant-numeric:
tabular-nums}tr.status-failed td,tr.status-mismatch td{background:#fef2f2}
tr.status-skipped td{background:#fffbeb}tr.overdue td{background:#fef2f2}
.badge{display:inline-block;border-radius:9px;padding:0 7px;font-size:12px;background:#e2e8f0;
white-space:nowrap}
.badge.failed,.badge.removed,.badge.revoked,.badge.mismatch{background:#fee2e2;color:var(--bad)}
.badge.skipped,.badge.invited{background:#fef3c7;color:var(--warn)}
.badge.complete,.badge.active,.badge.granted,.badge.ok{background:#dcfce7;color:var(--ok)}
.badge.still_active{background:#fee2e2;color:var(--bad)}.badge.removed_late{background:#fef3c7;
color:var(--warn)}.badge.removed_in_time{background:#dcfce7;color:var(--ok)}
.filters{display:flex;gap:10px;flex-wrap:wrap;margin:6px 0}
.filters input,.filters select{padding:4px 6px;border:1px solid #cbd5e1;border-radius:4px}
.muted{color:var(--muted)}.warn{color:var(--warn);font-weight:600}dl.run{display:grid;
grid-template-columns:max-content 1fr;gap:2px 14px;margin:6px 0}dl.run dt{color:var(--muted)}
dl.run dd{margin:0;font-family:ui-monospace,monospace;font-size:12px}svg.flows{max-width:100%;
height:auto}.empty{color:var(--muted);font-style:italic}code{font-size:12px}
"""

JS = """
(function () {
  'use strict';
  function cellKey(row, i) {
    var c = row.cells[i];
    if (!c) { return ''; }
    return c.hasAttribute('data-sort') ? c.getAttribute('data-sort') : c.textContent.trim();
  }
  function sortBy(table, i, th) {
    var body = table.tBodies[0];
    var dir = th.getAttribute('aria-sort') === 'ascending' ? 'descending' : 'ascending';
    var heads = table.tHead.rows[0].cells;
    for (var h = 0; h < heads.length; h++) { heads[h].removeAttribute('aria-sort'); }
    th.setAttribute('aria-sort', dir);
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = rows.every(function (r) {
      var k = cellKey(r, i); return k === '' || !isNaN(Number(k));
    });
    rows.sort(function (a, b) {
      var x = cellKey(a, i), y = cellKey(b, i), d;
      if (numeric) { d = (x === '' ? -Infinity : Number(x)) - (y === '' ? -Infinity : Number(y)); }
      else { d = x.localeCompare(y); }
      return dir === 'ascending' ? d : -d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  function applyFilters(tableId) {
    var table = document.getElementById(tableId);
    if (!table) { return; }
    var controls = document.querySelectorAll('[data-filter="' + tableId + '"]');
    var shown = 0, rows = table.tBodies[0].rows;
    for (var r = 0; r < rows.length; r++) {
      var row = rows[r], keep = true;
      for (var c = 0; c < controls.length && keep; c++) {
        var ctl = controls[c], want = ctl.value.trim().toLowerCase();
        if (!want) { continue; }
        if (ctl.hasAttribute('data-col')) {
          var cell = row.cells[Number(ctl.getAttribute('data-col'))];
          keep = !!cell && cell.textContent.trim().toLowerCase() === want;
        } else {
          keep = row.textContent.toLowerCase().indexOf(want) !== -1;
        }
      }
      row.hidden = !keep;
      if (keep) { shown++; }
    }
    var out = document.querySelector('[data-shown="' + tableId + '"]');
    if (out) { out.textContent = String(shown); }
  }
  document.querySelectorAll('table.sortable').forEach(function (table) {
    var heads = table.tHead.rows[0].cells;
    Array.prototype.forEach.call(heads, function (th, i) {
      th.setAttribute('title', 'Sort by ' + th.textContent.trim());
      th.addEventListener('click', function () { sortBy(table, i, th); });
    });
  });
  document.querySelectorAll('[data-filter]').forEach(function (ctl) {
    var id = ctl.getAttribute('data-filter');
    ctl.addEventListener('input', function () { applyFilters(id); });
    ctl.addEventListener('change', function () { applyFilters(id); });
  });
})();
"""

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)


def _select(table_id: str, col: int, label: str, values: Iterable[str]) -> str:
    """A drop-down that keeps rows whose column `col` equals the choice."""
    opts = "".join(f"<option>{escape(v)}</option>" for v in sorted(set(values)) if v)
    return (
        f'<label>{escape(label)} <select data-filter="{table_id}" data-col="{col}">'
        f'<option value="">all</option>{opts}</select></label>'
    )


ACCESS_COLUMNS = [
    ("system", "System"),
    ("tenant_id", "Tenant"),
    ("account_id", "Account id"),
    ("email", "Email"),
    ("name", "Name"),
    ("roles", "Roles"),
    ("status", "Status"),
    ("is_privileged", "Privileged"),
    ("created_at", "Created"),
    ("last_login_at", "Last login"),
    ("last_activity_at", "Last activity"),
    ("first_seen_at", "First seen"),
    ("last_seen_at", "Last seen"),
    ("grants", "Grants"),
]
CHANGE_COLUMNS = [
    ("seen_at", "Seen"),
    ("system", "System"),
    ("tenant_id", "Tenant"),
    ("account_id", "Account id"),
    ("email", "Email"),
    ("change", "Change"),
    ("resource", "Resource"),
    ("before", "Before"),
    ("after", "After"),
]
STREAM_COLUMNS = [
    ("stream", "Stream"),
    ("status", "Status"),
    ("records", "Records"),
    ("requests", "Requests"),
    ("reason", "Reason"),
]


def _summary(ev: Evidence) -> str:
    """The cards at the top: the numbers a reviewer asks for first."""
    f = ev.findings
    active = sum(1 for a in ev.access_review if a["status"] == "active")
    cards = [
        ("accounts-total", len(ev.access_review), "accounts reviewed"),
        ("accounts-active", active, "active accounts"),
        ("privileged-total", len(ev.privileged), "privileged accounts"),
        ("changes-total", len(ev.changes_since), "access changes since"),
        ("unused-keys-total", len(f["unused_keys"]), f"keys unused > {UNUSED_KEY_DAYS} days"),
        ("never-expiring-total", len(f["never_expiring_keys"]), "keys that never expire"),
        ("pending-invites-total", len(f["pending_invites"]), "invites pending > 30 days"),
        ("no-login-total", len(f["no_recent_login"]), f"no login for {NO_LOGIN_DAYS} days"),
        ("flows-total", len(unique_flows(ev.data_flows)), "data flows"),
    ]
    return (
        '<div class="cards">'
        + "".join(
            f'<div class="card">{count("card-" + tid, n)}<span>{escape(text)}</span></div>'
            for tid, n, text in cards
        )
        + "</div>"
    )


def _slug(*parts: Any) -> str:
    """An HTML id from arbitrary text."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", "-".join(str(p) for p in parts)).strip("-")


def _tenant_run(tr: TenantRun) -> str:
    """One tap and tenant: its last complete run and how each stream ended."""
    run = tr.run
    by_status = {
        s: sum(1 for x in tr.streams if x.status == s) for s in ("complete", "failed", "skipped")
    }
    records = sum(s.records for s in tr.streams)
    tid = "run-" + _slug(tr.tap, tr.tenant_id)
    warn = ""
    if not tr.complete:
        warn = (
            '<p class="warn" data-testid="no-complete-run">No complete run for this tenant in '
            f"the manifest: this is the latest run, which ended {escape(run.status)}; its "
            "lists are not proven whole.</p>"
        )
    elif tr.later_failed is not None:
        warn = (
            f'<p class="warn" data-testid="later-failed">A later run '
            f"(<code>{escape(tr.later_failed.run_id)}</code>, "
            f"{escape(fmt_time(tr.later_failed.finished_at or tr.later_failed.started_at))}) "
            f"ended {escape(tr.later_failed.status)}: the lists below are from this run.</p>"
        )
    rows = [s.__dict__ for s in sorted(tr.streams, key=lambda s: s.stream)]
    return (
        f'<div class="tenant-run" data-tap="{escape(tr.tap)}" '
        f'data-tenant="{escape(tr.tenant_id)}" data-complete="{str(tr.complete).lower()}">'
        f"<h3>{escape(tr.tap)} &middot; tenant <code>{escape(tr.tenant_id)}</code></h3>{warn}"
        '<dl class="run">'
        f'<dt>Run</dt><dd data-testid="run-id">{escape(run.run_id)}</dd>'
        f"<dt>Tap version</dt><dd>{escape(run.tap_version)}</dd>"
        f"<dt>Started</dt><dd>{escape(fmt_time(run.started_at))}</dd>"
        '<dt>Finished</dt><dd data-testid="run-finished">'
        f"{escape(fmt_time(run.finished_at))}</dd>"
        f"<dt>Settings fingerprint</dt><dd>{escape(run.settings_fingerprint)}</dd>"
        f"<dt>Streams</dt><dd>{count('streams-complete', by_status['complete'])} complete, "
        f"{count('streams-failed', by_status['failed'])} failed, "
        f"{count('streams-skipped', by_status['skipped'])} skipped; "
        f"{count('records-total', records)} records</dd>"
        "</dl>"
        + table(
            tid,
            STREAM_COLUMNS,
            rows,
            render={"status": badge},
            row_class=lambda r: f"status-{r['status']}",
        )
        + "</div>"
    )


def _runs(ev: Evidence) -> str:
    """Section: the manifest, per tap and tenant."""
    if not ev.tenant_runs:
        body = (
            '<p class="warn">No complete run in the manifest: '
            "the lists below are not proven whole.</p>"
        )
    else:
        body = "".join(_tenant_run(tr) for tr in ev.tenant_runs)
    return (
        '<section id="runs"><h2>Last complete run per tap and tenant</h2>'
        '<p class="muted">From the taps\' <code>sync_runs</code> manifest: when the lists were '
        "taken, how many records each stream returned, and which streams failed or were "
        "skipped (their rows are never treated as removed).</p>"
        f"<p>{count('runs-total', len(ev.runs))} runs in the manifest.</p>{body}</section>"
    )


RECON_COLUMNS = [
    ("stream", "Stream"),
    ("manifest_records", "Records emitted"),
    ("manifest_keys", "Distinct keys"),
    ("warehouse_records", "Rows in warehouse"),
    ("keys_match", "Keys match"),
    ("status", "Status"),
]
RECON_STATUSES = ("ok", "mismatch", "superseded", "not_checked")


def _reconciliation_run(rows: list[dict[str, Any]]) -> str:
    """One run of one tap and tenant: its compared streams; superseded ones as a count."""
    first = rows[0]
    # Mismatches first: they are what a reviewer must see.
    shown = sorted(
        (r for r in rows if r["status"] != "superseded"), key=lambda r: r["status"] != "mismatch"
    )
    superseded = len(rows) - len(shown)
    tid = "recon-" + _slug(first["system"], first["tenant_id"], first["run_id"])
    statuses = ", ".join(
        f"{sum(1 for r in rows if r['status'] == s)} {s.replace('_', ' ')}"
        for s in RECON_STATUSES
        if any(r["status"] == s for r in rows)
    )
    parts = [
        f'<div class="recon-run" data-run-id="{escape(str(first["run_id"]))}" '
        f'data-system="{escape(str(first["system"]))}" '
        f'data-tenant="{escape(str(first["tenant_id"]))}">'
        f"<h3>{escape(str(first['system']))} &middot; tenant "
        f"<code>{escape(str(first['tenant_id']))}</code> &middot; run "
        f"<code>{escape(str(first['run_id']))}</code>, started "
        f"{escape(fmt_time(first['run_started_at']))}</h3>"
        f'<p class="muted">{escape(statuses)}.</p>'
    ]
    if shown:
        parts.append(
            table(
                tid,
                RECON_COLUMNS,
                shown,
                render={"status": badge},
                row_class=lambda r: f"status-{r['status']}",
            )
        )
    if superseded:
        parts.append(
            f'<p class="muted">{superseded} streams superseded: a later run extracted them '
            "again, so the warehouse no longer tells this run's rows apart.</p>"
        )
    return "".join(parts) + "</div>"


def _reconciliation(ev: Evidence) -> str:
    """Section: per run, whether the warehouse holds the keys the API returned."""
    head = (
        '<section id="reconciliation"><h2>Extract reconciliation</h2>'
        '<p class="muted">Each run\'s manifest carries, per stream and tenant, how many distinct '
        "primary keys the API returned and a digest of them; the evidence build recomputes both "
        "from the rows the warehouse holds from that run (<code>evidence.extract_reconciliation"
        "</code>). <b>ok</b>: the warehouse holds exactly those keys; <b>mismatch</b>: a row is "
        "missing, extra or has another key (the build's test fails); <b>superseded</b>: a later "
        "run extracted the stream again; <b>not checked</b>: the stream is not listed for "
        "reconciliation or the manifest predates the digest.</p>"
    )
    rows = ev.reconciliation
    if rows is None:
        return (
            head + '<p class="warn" data-testid="recon-missing">This warehouse has no '
            "evidence.extract_reconciliation: rebuild the marts with this checkout's transform/ "
            "project (dbt build) to check the extract against the warehouse.</p></section>"
        )
    counts = {s: sum(1 for r in rows if r["status"] == s) for s in RECON_STATUSES}
    summary = (
        "<p>"
        + ", ".join(
            f"{count('recon-' + s.replace('_', '-'), n)} {escape(s.replace('_', ' '))}"
            for s, n in counts.items()
        )
        + " (streams x runs).</p>"
    )
    warn = ""
    if counts["mismatch"]:
        warn = (
            '<p class="warn" data-testid="recon-mismatch-warning">For '
            f"{counts['mismatch']} stream(s) the warehouse does not hold what the API returned: "
            "see the rows marked mismatch below.</p>"
        )
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for r in rows:  # newest run first (data.read_reconciliation)
        runs.setdefault((str(r["run_id"]), str(r["system"]), str(r["tenant_id"])), []).append(r)
    body = "".join(_reconciliation_run(group) for group in runs.values())
    if not runs:
        body = '<p class="empty">No complete stream in the manifest to reconcile.</p>'
    return head + summary + warn + body + "</section>"


def _access(ev: Evidence) -> str:
    """Section: the access review (sortable, filterable) and the privileged accounts."""
    rows = sorted(ev.access_review, key=lambda r: (r["system"], r["tenant_id"], r["email"] or ""))
    cols = {k: i for i, (k, _) in enumerate(ACCESS_COLUMNS)}
    filters = (
        '<div class="filters">'
        '<label>Filter <input type="search" data-filter="access-review" '
        'placeholder="email, name, role..." aria-label="Filter accounts"></label>'
        + _select("access-review", cols["system"], "System", (r["system"] for r in rows))
        + _select("access-review", cols["tenant_id"], "Tenant", (r["tenant_id"] for r in rows))
        + _select("access-review", cols["status"], "Status", (r["status"] for r in rows))
        + _select("access-review", cols["is_privileged"], "Privileged", ["yes", "no"])
        + f'<span class="muted"><span data-shown="access-review">{len(rows)}</span> of '
        f"{len(rows)} shown</span></div>"
    )
    priv = sorted(ev.privileged, key=lambda r: (r["system"], r["tenant_id"], r["email"] or ""))
    return (
        '<section id="access"><h2>Access review</h2>'
        f"<p>{count('access-total', len(rows))} accounts across "
        f"{len({(r['system'], r['tenant_id']) for r in rows})} tenants. Click a heading to "
        "sort.</p>"
        + filters
        + table("access-review", ACCESS_COLUMNS, rows, render={"status": badge})
        + '</section><section id="privileged"><h2>Privileged accounts</h2>'
        f"<p>{count('privileged-count', len(priv))} accounts the marts mark privileged "
        "(owner or admin roles; removed accounts not counted).</p>"
        + table("privileged-accounts", ACCESS_COLUMNS, priv, render={"status": badge})
        + "</section>"
    )


def _changes(ev: Evidence) -> str:
    """Section: access and configuration changes since the comparison date."""
    access = ev.changes_since
    config = ev.config_changes_since
    order = [
        "seen_at",
        "system",
        "tenant_id",
        "object_type",
        "object_id",
        "object_name",
        "change",
        "field",
        "before",
        "after",
    ]
    config_cols = [(c, c.replace("_", " ").capitalize()) for c in order if c in ev.config_columns]
    return (
        '<section id="changes"><h2>Changes since '
        f'<span data-testid="since">{escape(fmt_time(ev.since))}</span></h2>'
        f'<p class="muted">Compared with {escape(ev.since_source)}.</p>'
        f"<h3>Access changes: {count('access-changes-count', len(access))}</h3>"
        + table("access-changes", CHANGE_COLUMNS, access, render={"change": badge})
        + f"<h3>Configuration changes: {count('config-changes-count', len(config))}</h3>"
        '<p class="muted">Connection, destination, source and warehouse settings; values '
        "the taps redacted stay redacted.</p>"
        + table("config-changes", config_cols, config, render={"change": badge})
        + "</section>"
    )


CRED_COLUMNS = [
    ("system", "System"),
    ("tenant_id", "Tenant"),
    ("credential_id", "Id"),
    ("name", "Name"),
    ("kind", "Kind"),
    ("created_at", "Created"),
    ("last_used_at", "Last used"),
    ("expires_at", "Expires"),
]


def _hygiene(ev: Evidence) -> str:
    """Section: the four credential findings."""
    f = ev.findings
    cred_cols = CRED_COLUMNS + [
        (c, c.replace("_", " ").capitalize())
        for c in ev.credential_columns
        if c not in {k for k, _ in CRED_COLUMNS}
    ]
    acct_cols = [c for c in ACCESS_COLUMNS if c[0] not in {"first_seen_at"}]
    parts = [
        (
            "unused-keys",
            f"Keys unused for more than {UNUSED_KEY_DAYS} days",
            f["unused_keys"],
            cred_cols,
            "Judged on the last-use time the API reports; keys without one are not judged.",
        ),
        (
            "never-expiring-keys",
            "Keys that never expire",
            f["never_expiring_keys"],
            cred_cols,
            "No expiry date in the API.",
        ),
        (
            "pending-invites",
            f"Invites pending for more than {PENDING_INVITE_DAYS} days",
            f["pending_invites"],
            ACCESS_COLUMNS,
            "Age from the invite's creation time, or the first run that saw it where the API "
            "gives none.",
        ),
        (
            "no-recent-login",
            f"Accounts not logged in for {NO_LOGIN_DAYS} days",
            f["no_recent_login"],
            acct_cols,
            "Active accounts whose last login the API reports (Fivetran) is older. Without a "
            "login time (Segment), an account's latest audit event counts instead, but only "
            "where the audit trail on record reaches back the whole window (from the first run "
            "that read it whole, read by the latest run too) and the account was listed all "
            "that time; otherwise it is not judged: no event on a shorter trail is unknown, "
            "not inactive.",
        ),
    ]
    html_parts = [
        '<section id="hygiene"><h2>Credential hygiene</h2>'
        f'<p class="muted">Measured from {escape(fmt_time(ev.now))}. '
        f"{count('credentials-total', len(ev.credentials))} keys in the inventory.</p>"
    ]
    for tid, title, rows, cols, note in parts:
        html_parts.append(
            f'<div id="{tid}-block"><h3>{escape(title)}: {count(tid + "-count", len(rows))}</h3>'
            f'<p class="muted">{escape(note)}</p>'
            + table(tid, cols, rows, render={"status": badge})
            + "</div>"
        )
    html_parts.append("</section>")
    return "".join(html_parts)


def _privacy(ev: Evidence) -> str:
    """Section: Segment deletion and suppression requests, overdue and forgotten ones first."""
    head = (
        '<section id="privacy"><h2>Privacy requests</h2>'
        '<p class="muted">Segment deletion and suppression requests (GDPR, CCPA) from '
        "<code>evidence.privacy_requests</code>. The API lists a request for 90 days only; the "
        "evidence keeps it after, marked not listed. Overdue: not finished and older than the "
        "deadline the marts were built with (dbt var <code>privacy_deadline_days</code>, 30 "
        "days unless set). Who is to be forgotten is personal data and is not shown, only how "
        "many subjects a request names.</p>"
    )
    rows = ev.privacy
    if rows is None:
        return (
            head + '<p class="warn" data-testid="privacy-missing">This warehouse has no '
            "evidence.privacy_requests: rebuild the marts with this checkout's transform/ "
            "project (dbt build) to keep the privacy requests.</p></section>"
        )
    n = privacy_counts(rows)
    warn = ""
    if n["overdue"]:
        warn = (
            '<p class="warn" data-testid="privacy-overdue-warning">'
            f"{n['overdue']} request(s) not finished past the deadline: see the rows marked "
            "overdue below.</p>"
        )
    summary = (
        f"<p>{count('privacy-total', n['total'])} requests: "
        f"{count('privacy-open', n['open'])} open, "
        f"{count('privacy-overdue', n['overdue'])} overdue, "
        f"{count('privacy-unlisted', n['unlisted'])} no longer listed by the API.</p>"
    )
    return (
        head
        + summary
        + warn
        + table(
            "privacy-requests",
            PRIVACY_COLUMNS,
            rows,
            render={"status": badge},
            row_class=lambda r: "overdue" if r["overdue"] else "",
        )
        + "</section>"
    )


def _flows(ev: Evidence, svg: str) -> str:
    """Section: the Graphviz picture and the same edges as a table."""
    flows = unique_flows(ev.data_flows)
    rows = []
    for r in flows:
        n, names = tables_of(r.get("tables_enabled"), r.get("tables_enabled_count"))
        rows.append(
            {
                "system": r["system"],
                "tenant_id": r["tenant_id"],
                "from": f"{r['from_name'] or r['from_id']} ({r['from_type']})",
                "to": f"{r['to_name'] or r['to_id']} ({r['to_type']})",
                "status": r.get("status") or "active",
                "tables": n,
                "names": names,
                "edge": edge_id(r),
            }
        )
    cols = [
        ("system", "System"),
        ("tenant_id", "Tenant"),
        ("from", "From"),
        ("to", "To"),
        ("status", "Status"),
        ("tables", "Tables enabled"),
        ("names", "Tables"),
    ]
    picture = svg if flows else '<p class="empty">No data flows in the warehouse.</p>'
    return (
        '<section id="flows"><h2>Where customer data flows</h2>'
        f"<p>{count('flows-count', len(flows))} flows: Segment sources to destinations and "
        "warehouses, Fivetran connections to destinations, one box per tenant. Laid out by "
        'Graphviz; hover an arrow for its tables.</p><div id="flow-diagram">'
        + picture
        + "</div><h3>The same flows as a table</h3>"
        + table("flow-table", cols, rows, render={"status": badge})
        + "</section>"
    )


FOLLOWUP_COLUMNS = [
    ("system", "System"),
    ("tenant_id", "Tenant"),
    ("account_id", "Account id"),
    ("email", "Email"),
    ("decided_at", "Decided"),
    ("reviewer", "Reviewer"),
    ("comment", "Comment"),
    ("days_open", "Days open"),
    ("later_keep_at", "Kept by a later review"),
]
RECORD_REVIEW = (
    "To record a review, copy <code>tables/access_review.csv</code> out of this pack, fill in "
    "its <code>decision</code> (keep or revoke) and <code>comment</code> columns, and run "
    "<code>evidence-pack record-review --pack DIR --decisions FILE --reviewer NAME</code> "
    "with the warehouse options this pack was built from; from the next run on, this section "
    "shows which revokes were carried out."
)


def _review(ev: Evidence) -> str:
    """Section: who signed the last access review, on which pack, and the revokes still open."""
    head = '<section id="review"><h2>Last review</h2>'
    last = ev.last_review
    if last is None:
        return (
            head + '<p class="warn" data-testid="review-none">No access review is recorded yet.'
            f'</p><p class="muted">{RECORD_REVIEW}</p></section>'
        )
    parts = [
        head,
        '<dl class="run">'
        f'<dt>Signed by</dt><dd data-testid="review-reviewer">{escape(last.reviewer)}</dd>'
        f'<dt>Recorded</dt><dd data-testid="review-decided">'
        f"{escape(fmt_time(last.decided_at))}</dd>"
        f'<dt>Review</dt><dd data-testid="review-id">{escape(last.review_id)}</dd>'
        '<dt>Pack reviewed</dt><dd>manifest.json SHA-256 <span data-testid="review-pack">'
        f"{escape(last.pack_sha256)}</span></dd>"
        f"<dt>Decisions</dt><dd>{count('review-keep', last.keep)} keep, "
        f"{count('review-revoke', last.revoke)} revoke</dd></dl>",
    ]
    followup = ev.review_followup
    if followup is None:
        parts.append(
            '<p class="warn" data-testid="review-followup-missing">This warehouse has no '
            "evidence.review_followup: rebuild the marts with this checkout's transform/ "
            "project (dbt build) to see which revokes were carried out.</p>"
        )
    else:
        still = [r for r in followup if r["status"] == "open"]
        parts.append(
            f"<p>{count('review-open', len(still))} revokes still open, "
            f"{count('review-done', len(followup) - len(still))} carried out, over "
            f"{last.reviews:,} recorded reviews.</p>"
        )
        if last.revoke and not any(r["review_id"] == last.review_id for r in followup):
            parts.append(
                '<p class="warn" data-testid="review-followup-pending">The revokes of this '
                "review are checked from the next run on (the marts were built before it was "
                "recorded).</p>"
            )
        parts.append(
            "<h3>Open revokes</h3>"
            '<p class="muted">A revoke is done once the account history shows the account '
            "removed at or after the decision, or removed now. A keep decided in a later "
            "review does not close it: it shows in the last column. Every revoke, done or "
            "open, is in <code>tables/review_followup.csv</code>.</p>"
            + table("review-open-revokes", FOLLOWUP_COLUMNS, still)
        )
    parts.append(f'<p class="muted">{RECORD_REVIEW}</p></section>')
    return "".join(parts)


def _exports(files: list[tuple[str, int]]) -> str:
    """Section: links to the CSV files and the manifest (relative, so they open from disk)."""
    items = "".join(
        f'<li><a href="{escape(name)}">{escape(name)}</a> <span class="muted">'
        f"({size:,} bytes)</span></li>"
        for name, size in files
    )
    return (
        '<section id="exports"><h2>Files in this pack</h2>'
        "<p>Vanta access files (<code>vanta/</code>: Account name, Account owner, Role, Status, "
        "Date created, Date deactivated; one per system and tenant), Drata access lists "
        "(<code>drata/</code>), the full tables, and <code>manifest.json</code> with the "
        f"SHA-256 of every file.</p><ul>{items}"
        '<li><a href="manifest.json">manifest.json</a></li></ul></section>'
    )


def render(ev: Evidence, svg: str, files: list[tuple[str, int]]) -> str:
    """The whole page."""
    return (
        "<!doctype html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Evidence pack: access, changes, credentials, data flows</title>"
        f"<style>{CSS}</style></head><body>"
        "<header><h1>Evidence pack</h1>"
        f'<p>Generated <span data-testid="generated">{escape(fmt_time(ev.generated_at))}</span> '
        f"from {escape(ev.warehouse)}; ages measured from {escape(fmt_time(ev.now))}.</p>"
        f"<p>Changes are shown since {escape(fmt_time(ev.since))} "
        f"({escape(ev.since_source)}).</p></header>"
        '<nav><a href="#runs">Runs</a><a href="#reconciliation">Reconciliation</a>'
        '<a href="#access">Access review</a>'
        '<a href="#privileged">Privileged</a><a href="#leavers">Leavers</a>'
        '<a href="#review">Last review</a>'
        '<a href="#changes">Changes</a>'
        '<a href="#hygiene">Credential hygiene</a><a href="#privacy">Privacy requests</a>'
        '<a href="#flows">Data flows</a>'
        '<a href="#exports">Files</a></nav><main>'
        + _summary(ev)
        + _runs(ev)
        + _reconciliation(ev)
        + _access(ev)
        + leavers_section(ev)
        + _review(ev)
        + _changes(ev)
        + _hygiene(ev)
        + _privacy(ev)
        + _flows(ev, svg)
        + _exports(files)
        + f"</main><script>{JS}</script></body></html>\n"
    )
