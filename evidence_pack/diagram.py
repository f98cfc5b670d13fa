"""The data-flow picture: `evidence.data_flows` as a Graphviz graph, laid out by `dot -Tsvg`.

Layout is Graphviz's job; this module only says what the nodes and edges are. Each tenant
(Segment workspace, Fivetran account) is one cluster. Every SVG edge carries the id
`flow|<system>|<tenant>|<from_type>|<from_id>|<to_type>|<to_id>` and every node
`node|<system>|<tenant>|<type>|<id>`, so a reader (or a test) can find a given flow.

Without Graphviz (`dot` not on PATH), or with more flows than a picture can show legibly
(``MAX_DRAWN_FLOWS``), the pack is written all the same: one line where the picture would be
says so (`flows_picture`).
"""

from __future__ import annotations

import shutil
import subprocess
from html import escape
from typing import Any

from evidence_pack import ReportError
from evidence_pack.data import as_list

DOT_TIMEOUT_S = 120
# Graphviz is a system package, not a pip one: without it the pack is still whole; the page
# says so in this one line where the picture would be, and the flows table below it (always
# there) carries every flow.
GRAPHVIZ_MISSING = (
    "Graphviz is not installed (no `dot` on PATH), so the flows are not drawn; every flow is in "
    "the table below (`apt-get install graphviz` adds the picture)."
)
# Above this many flows a picture is neither legible nor quick: dot's layout time grows faster
# than the edges (a large account's 4,500 flows took more than DOT_TIMEOUT_S), so the page says
# so in one line and the flows table carries them all.
MAX_DRAWN_FLOWS = 400
TOO_MANY_FLOWS = (
    "{count} flows are too many to draw legibly (the picture is drawn up to {limit}); every "
    "flow is in the table below."
)
# data_flows.status: removed edges stay in the mart (and in the picture), drawn apart.
STATUS_STYLE = {
    "removed": 'style="dashed", color="#b91c1c", fontcolor="#b91c1c"',
    "disabled": 'style="dashed", color="#94a3b8", fontcolor="#64748b"',
}
FILL = {
    "source": "#dbeafe",
    "destination": "#dcfce7",
    "warehouse": "#ffedd5",
    "connection": "#ede9fe",
}


def edge_id(row: dict[str, Any]) -> str:
    """The SVG id of one flow."""
    parts = ("system", "tenant_id", "from_type", "from_id", "to_type", "to_id")
    return "flow|" + "|".join(str(row[p]) for p in parts)


def node_id(system: Any, tenant: Any, kind: Any, ident: Any) -> str:
    """The SVG id of one node."""
    return f"node|{system}|{tenant}|{kind}|{ident}"


def _esc(text: Any) -> str:
    """Text for inside a DOT quoted string (backslashes and quotes escaped, one line)."""
    return str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ")


def _q(text: Any) -> str:
    """A DOT quoted string."""
    return f'"{_esc(text)}"'


def tables_of(value: Any, count: Any = None) -> tuple[int | None, list[str]]:
    """(count, names) of a flow's enabled tables: `tables_enabled` may hold a count, a list or
    comma-separated names; `tables_enabled_count`, where the mart has it, is the count."""
    if count is not None and not isinstance(count, bool):
        names = tables_of(value)[1]
        return int(count), names
    if value is None or value == "":
        return None, []
    if isinstance(value, bool):
        return None, []
    if isinstance(value, int | float):
        return int(value), []
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip()), []
    names = [str(t) for t in as_list(value)]
    return len(names), names


def unique_flows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per edge, in a stable order (the mart may repeat an edge per table)."""
    seen: dict[str, dict[str, Any]] = {}
    for row in rows:
        seen.setdefault(edge_id(row), row)
    return [seen[k] for k in sorted(seen)]


def to_dot(rows: list[dict[str, Any]]) -> str:
    """The DOT text of every flow, one cluster per system and tenant."""
    flows = unique_flows(rows)
    clusters: dict[tuple[str, str], dict[str, str]] = {}
    labels: dict[str, tuple[str, str]] = {}
    for r in flows:
        key = (str(r["system"]), str(r["tenant_id"]))
        nodes = clusters.setdefault(key, {})
        for end in ("from", "to"):
            nid = node_id(r["system"], r["tenant_id"], r[f"{end}_type"], r[f"{end}_id"])
            nodes[nid] = str(r[f"{end}_type"] or "")
            name = r[f"{end}_name"] or r[f"{end}_id"]
            labels[nid] = (str(name), str(r[f"{end}_type"]))
    short = {nid: f"n{i}" for i, nid in enumerate(sorted(labels))}
    out = [
        "digraph flows {",
        '  graph [rankdir=LR, fontname="Helvetica", fontsize=12, nodesep=0.25, ranksep=1.0];',
        '  node [shape=box, style="rounded,filled", fontname="Helvetica", fontsize=10];',
        '  edge [fontname="Helvetica", fontsize=9, color="#475569"];',
    ]
    for i, ((system, tenant), nodes) in enumerate(sorted(clusters.items())):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f'    label={_q(f"{system}: {tenant}")}; style="rounded"; color="#94a3b8";')
        for nid, kind in sorted(nodes.items()):
            name, kind_label = labels[nid]
            lab = f"{_esc(name)}\\n({_esc(kind_label)})"
            fill = FILL.get(kind, "#f1f5f9")
            out.append(f'    {short[nid]} [id={_q(nid)}, label="{lab}", fillcolor="{fill}"];')
        out.append("  }")
    for r in flows:
        a = short[node_id(r["system"], r["tenant_id"], r["from_type"], r["from_id"])]
        b = short[node_id(r["system"], r["tenant_id"], r["to_type"], r["to_id"])]
        count, names = tables_of(r.get("tables_enabled"), r.get("tables_enabled_count"))
        status = str(r.get("status") or "active")
        attrs = [f"id={_q(edge_id(r))}", f"class={_q('flow ' + status)}"]
        label = f"{count} tables" if count is not None else ""
        if status != "active":
            label = f"{label} ({status})".strip()
            attrs.append(STATUS_STYLE.get(status, 'style="dashed"'))
        if label:
            attrs.append(f"label={_q(label)}")
        tip = f"{r['from_name'] or r['from_id']} -> {r['to_name'] or r['to_id']}"
        if status != "active":
            tip += f" [{status}]"
        if names:
            more = f" (+{len(names) - 20} more)" if len(names) > 20 else ""
            tip += ": " + ", ".join(names[:20]) + more
        attrs.append(f"tooltip={_q(tip)}")
        out.append(f"  {a} -> {b} [{', '.join(attrs)}];")
    out.append("}")
    return "\n".join(out) + "\n"


def render_svg(dot_text: str) -> str:
    """Lay the graph out with Graphviz and return the `<svg>` element to inline."""
    exe = shutil.which("dot")
    if exe is None:
        raise ReportError(
            "Graphviz `dot` not found on PATH: install it (`apt-get install graphviz`)"
        )
    try:
        proc = subprocess.run(  # noqa: S603 (fixed executable, text on stdin)
            [exe, "-Tsvg"],
            input=dot_text,
            capture_output=True,
            text=True,
            timeout=DOT_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise ReportError(
            f"Graphviz took longer than {DOT_TIMEOUT_S} s to lay out the flows"
        ) from None
    if proc.returncode != 0 or "<svg" not in proc.stdout:
        first = (proc.stderr.strip().splitlines() or ["no output"])[0]
        raise ReportError(f"Graphviz could not draw the data flows: {first}")
    svg = proc.stdout[proc.stdout.index("<svg") :]
    # Natural size, shrunk to the column when wider (CSS max-width; the viewBox keeps shape).
    return svg.replace("<svg ", '<svg class="flows" ', 1)


def graphviz_available() -> bool:
    """Whether `dot` is on PATH (the CLI also says so on stderr when it is not)."""
    return shutil.which("dot") is not None


def flows_picture(rows: list[dict[str, Any]]) -> str:
    """What stands above the flows table: the inline SVG, or the one line saying Graphviz is
    missing, so that `make report` writes the whole pack on a machine without it."""
    if not graphviz_available():
        return f'<p class="warn" data-testid="graphviz-missing">{escape(GRAPHVIZ_MISSING)}</p>'
    count = len(unique_flows(rows))
    if count > MAX_DRAWN_FLOWS:
        line = TOO_MANY_FLOWS.format(count=f"{count:,}", limit=MAX_DRAWN_FLOWS)
        return f'<p class="warn" data-testid="flows-not-drawn">{escape(line)}</p>'
    return render_svg(to_dot(rows))
