"""What ``format: date-time`` promises a target: an RFC 3339 timestamp or null, nothing else.

jsonschema checks the format only when an optional package is installed (it is not here, so
``FormatChecker`` accepts ``""``); this check is the project's own, so it cannot pass silently.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Any

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


def is_date_time(value: Any) -> bool:
    """An RFC 3339 date-time string that names a real moment (no month 13, no hour 25)."""
    if not isinstance(value, str) or not RFC3339.match(value):
        return False
    text = re.sub(r"[Zz]$", "+00:00", value)
    whole, _, rest = text.partition(".")
    if rest:  # fromisoformat on 3.11 takes at most 6 fraction digits
        digits = re.match(r"\d+", rest).group(0)  # type: ignore[union-attr]
        text = f"{whole}.{digits[:6].ljust(6, '0')}{rest[len(digits) :]}"
    try:
        dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def date_time_paths(schema: dict, prefix: str = "") -> Iterator[str]:
    """Dotted paths ('a.b', 'list[].c') of every property declared ``format: date-time``."""
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{prefix}.{name}" if prefix else name
        if prop.get("format") == "date-time":
            yield path
        yield from date_time_paths(prop, path)
        items = prop.get("items")
        if isinstance(items, dict):
            if items.get("format") == "date-time":
                yield f"{path}[]"
            yield from date_time_paths(items, f"{path}[]")


def values_at(record: Any, path: str) -> Iterator[Any]:
    """Every value at a dotted path of ``date_time_paths`` (absent parts yield nothing)."""
    node_list = [record]
    for part in path.split("."):
        name, is_list = (part[:-2], True) if part.endswith("[]") else (part, False)
        found = []
        for node in node_list:
            if isinstance(node, dict) and name in node:
                value = node[name]
                if is_list:
                    found.extend(value if isinstance(value, list) else [])
                else:
                    found.append(value)
        node_list = found
    yield from node_list


def bad_date_times(record: dict, schema: dict) -> list[tuple[str, Any]]:
    """(path, value) of every date-time field of ``record`` that is neither null nor RFC 3339."""
    return [
        (path, value)
        for path in date_time_paths(schema)
        for value in values_at(record, path)
        if value is not None and not is_date_time(value)
    ]
