"""Fivetran's API rules that do not depend on a stream: how it says how long to wait."""

from __future__ import annotations

from taps_common.http_client import Answer


def retry_after_seconds(answer: Answer) -> float | None:
    """Fivetran says how long to wait in ``Retry-After``, in seconds (never a date)."""
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
