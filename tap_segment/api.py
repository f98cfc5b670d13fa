"""Segment's API rules, in one place for the tap and its streams: the response envelope, what
each refusal means, the token check, and how Segment says how long to wait."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from tap_segment.settings import SegmentSettings
from taps_common.errors import (
    ApiResponseError,
    ChildNotFoundError,
    CredentialsRejectedError,
    NotEntitledError,
)
from taps_common.http_client import Answer, ApiHttpClient, HttpStatusError


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


# ----- the envelope: {"data": {...}} or {"errors": [{"type", "message"}]} -------------------
def first_error(body: Any) -> tuple[str, str]:
    """(type, message) of the first entry of a Segment error envelope."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        err = body["errors"][0]
        if isinstance(err, dict):
            return str(err.get("type") or ""), str(err.get("message") or "")[:200]
    return "", ""


def data_of(body: Any, path: str, status: int) -> dict[str, Any]:
    """The ``data`` object of an answer; ApiResponseError (with Segment's error) if absent."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        kind, message = first_error(body)
        detail = f": {kind} {message}".rstrip() if kind or message else ""
        raise ApiResponseError(
            f"Segment answered without the expected 'data' object{detail}",
            path=path,
            status=status,
        )
    return body["data"]


def list_in(data: Mapping[str, Any], key: str, path: str, status: int) -> list[Any]:
    """``data.<key>``, a list, or ApiResponseError."""
    items = data.get(key)
    if not isinstance(items, list):
        raise ApiResponseError(
            f"Segment answered without the expected 'data.{key}' list", path=path, status=status
        )
    return items


def object_in(data: Mapping[str, Any], key: str, path: str, status: int) -> dict[str, Any]:
    """``data.<key>``, an object, or ApiResponseError."""
    obj = data.get(key)
    if not isinstance(obj, dict):
        raise ApiResponseError(
            f"Segment answered without the expected 'data.{key}' object", path=path, status=status
        )
    return obj


def next_cursor(data: Mapping[str, Any]) -> str | None:
    """``data.pagination.next``: the cursor of the next page, None on the last."""
    pagination = data.get("pagination")
    cursor = pagination.get("next") if isinstance(pagination, dict) else None
    return str(cursor) if cursor else None


# ----- what a refusal means -------------------------------------------------------------------
def status_error(err: HttpStatusError, *, is_child: bool, scrub: Callable[[str], str]) -> Exception:
    """401/403: the token's role or plan does not allow it; 404: gone (below a parent) or the
    feature is off; any other status: a refusal the stream ends on. ``scrub`` removes
    credentials from Segment's message."""
    kind, message = first_error(err.body)
    if err.status in (401, 403):
        return NotEntitledError(
            err.path,
            err.status,
            message or "the token's role or the workspace plan does not allow it",
        )
    if err.status == 404:
        if is_child:
            return ChildNotFoundError(err.path, err.status, kind)
        return NotEntitledError(
            err.path, err.status, message or "not found: the feature may be off"
        )
    return ApiResponseError(
        f"Segment refused the request: {kind or 'error'} {scrub(message)}".rstrip(),
        path=err.path,
        status=err.status,
    )


# ----- the token check: GET / names the workspace ---------------------------------------------
def token_error(err: HttpStatusError, label: str, where: str) -> ApiResponseError:
    """The token check refused: 401/403/404 mean the token (in setting ``label``) is wrong or
    in another region (``where`` names the region or api_url setting); else Segment refused."""
    if err.status in (401, 403, 404):
        hint = (
            f". Check the token, and that {where} is the workspace's region: a token "
            "works only in its own region (setting 'region': us or eu)"
        )
        return CredentialsRejectedError(
            f"Segment rejected the token in setting '{label}' (HTTP {err.status}){hint}"
        )
    return ApiResponseError("Segment refused the workspace check", path="/", status=err.status)


def workspace_of(body: Any, status: int) -> dict[str, Any]:
    """The workspace object the token check answered (it must carry an id)."""
    data = body.get("data") if isinstance(body, dict) else None
    workspace = data.get("workspace") if isinstance(data, dict) else None
    if not isinstance(workspace, dict) or not workspace.get("id"):
        raise ApiResponseError(
            "Segment answered without the expected 'data.workspace' object", path="/", status=status
        )
    return workspace


class SegmentRun(Protocol):
    """What Segment's streams read of the tap (``TapSegment`` is one): a protocol, so the
    streams depend on this module and never on the tap that declares them."""

    @property
    def settings(self) -> SegmentSettings:
        """The typed settings."""
        ...

    def workspace_ids(self) -> list[str]:
        """Ids of every configured workspace, in configuration order."""
        ...

    def workspace_record(self, workspace_id: str) -> dict[str, Any]:
        """The workspace object from the token check."""
        ...

    def client_for(self, workspace_id: str) -> ApiHttpClient:
        """The client holding this workspace's token."""
        ...

    def clients_by_id(self) -> dict[str, ApiHttpClient]:
        """Every workspace's client (for scrubbing messages)."""
        ...
