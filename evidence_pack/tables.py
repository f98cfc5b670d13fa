"""HTML building blocks of the page: cells, badges, tables and named counts.

Both the page and its sections (``leavers``) build on these, so a section never imports the
page that includes it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime
from html import escape
from typing import Any

Cell = tuple[str, str | None, str]  # (html, sort key, css class)


def fmt_time(value: datetime | None) -> str:
    """A UTC time a reviewer reads at a glance."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else ""


def cell(value: Any) -> Cell:
    """One table cell for a plain value, with a sort key for times and numbers."""
    if value is None or value == "":
        return ("", "", "")
    if isinstance(value, datetime):
        return (escape(fmt_time(value)), value.isoformat(), "")
    if isinstance(value, bool):
        return ("yes" if value else "no", "1" if value else "0", "")
    if isinstance(value, int | float):
        return (f"{value:,}", str(value), "num")
    if isinstance(value, list | tuple):
        return (escape(", ".join(str(v) for v in value)), None, "")
    return (escape(str(value)), None, "")


def badge(value: Any) -> Cell:
    """A status word as a coloured badge."""
    text = str(value or "")
    css = re.sub(r"[^a-z_]", "", text.lower())
    return (f'<span class="badge {css}">{escape(text)}</span>', text, "")


def table(
    tid: str,
    columns: list[tuple[str, str]],
    rows: Iterable[dict[str, Any]],
    *,
    render: dict[str, Callable[[Any], Cell]] | None = None,
    row_class: Callable[[dict[str, Any]], str] | None = None,
    sortable: bool = True,
) -> str:
    """An HTML table of `rows` with the given (key, heading) columns."""
    render = render or {}
    head = "".join(f'<th scope="col">{escape(label)}</th>' for _, label in columns)
    body: list[str] = []
    for row in rows:
        cls = row_class(row) if row_class else ""
        tds = []
        for key, _ in columns:
            html_text, sort_key, css = render.get(key, cell)(row.get(key))
            attrs = f' data-col-key="{escape(key)}"'
            if sort_key is not None:
                attrs += f' data-sort="{escape(sort_key)}"'
            if css:
                attrs += f' class="{css}"'
            tds.append(f"<td{attrs}>{html_text}</td>")
        body.append(f'<tr class="{escape(cls)}">' + "".join(tds) + "</tr>")
    if not body:
        return f'<p class="empty" id="{escape(tid)}-empty">None.</p>'
    cls = ' class="sortable"' if sortable else ""
    return (
        f'<table id="{escape(tid)}"{cls}><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def count(testid: str, value: int) -> str:
    """A number the tests (and readers) can find by name."""
    return f'<b data-testid="{escape(testid)}">{value:,}</b>'
