"""Segment's API rules that do not depend on a stream: how it says how long to wait."""

from __future__ import annotations

import email.utils
import time

from taps_common.http_client import Answer


def segment_retry_wait(answer: Answer, now: float | None = None) -> float | None:
    """Seconds Segment asks to wait: the body's ``errors[].data.msBeforeNext``, else the
    ``X-RateLimit-Reset`` date (from ``now``, a Unix time; the clock when None)."""
    errors = answer.body.get("errors") if isinstance(answer.body, dict) else None
    for error in errors if isinstance(errors, list) else []:
        data = error.get("data") if isinstance(error, dict) else None
        ms = data.get("msBeforeNext") if isinstance(data, dict) else None
        if isinstance(ms, int | float):
            return max(0.0, ms / 1000.0)
    reset = answer.headers.get("X-RateLimit-Reset")
    if not reset:
        return None
    try:
        moment = email.utils.parsedate_to_datetime(reset).timestamp()
    except (TypeError, ValueError):
        return None
    return max(0.0, moment - (time.time() if now is None else now))
