"""Fivetran's API rules, in one place for the tap and its streams: the response envelope, what
each refusal means, the key check, and how Fivetran says how long to wait."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from tap_fivetran.settings import FivetranSettings
from taps_common.errors import (
    ApiResponseError,
    ChildNotFoundError,
    CredentialsRejectedError,
    NotEntitledError,
)
from taps_common.http_client import Answer, ApiHttpClient, HttpStatusError


def retry_after_seconds(answer: Answer) -> float | None:
    """Fivetran says how long to wait in ``Retry-After``, in seconds (never a date)."""
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


# ----- the envelope: {"code": "Success", "data": {...}} ---------------------------------------
def error_fields(body: Any) -> tuple[str, str]:
    """(code, message) of a Fivetran error envelope, empty strings when absent."""
    if isinstance(body, dict):
        return str(body.get("code") or ""), str(body.get("message") or "")[:200]
    return "", ""


def data_of(body: Any, path: str, status: int) -> dict[str, Any]:
    """The ``data`` object of an answer; ApiResponseError (with Fivetran's code) if absent."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
        code, message = error_fields(body)
        detail = f": {code} {message}".rstrip() if code else ""
        raise ApiResponseError(
            f"Fivetran answered without the expected 'data' object{detail}",
            path=path,
            status=status,
        )
    return body["data"]


def page_of(body: Any, path: str, status: int) -> tuple[list[Any], str | None]:
    """``data.items`` and ``data.next_cursor`` (None on the last page)."""
    data = data_of(body, path, status)
    items = data.get("items")
    if not isinstance(items, list):
        raise ApiResponseError(
            "Fivetran answered without the expected 'data.items' list", path=path, status=status
        )
    cursor = data.get("next_cursor")
    return items, (str(cursor) if cursor else None)


# ----- what a refusal means -------------------------------------------------------------------
def status_error(
    err: HttpStatusError, *, is_child: bool, has_detail: bool, scrub: Callable[[str], str]
) -> Exception:
    """401/403: not allowed for this key; 404: a deleted object or a feature that is off.

    Fivetran names the object it cannot find (``NotFound_Connector``,
    ``NotFound_SchemaConfig``: "Cannot find entity 'Connector' with id ..."); a 404 on a
    child endpoint that names none (plain ``NotFound``, or no envelope) is about the
    endpoint, not one parent, so the stream is skipped for the account at once. On a detail
    GET (``has_detail``) it is the listed object that vanished. ``scrub`` removes
    credentials from Fivetran's message.
    """
    code, message = error_fields(err.body)
    if err.status in (401, 403):
        return NotEntitledError(
            err.path,
            err.status,
            message or "this API key may not read it (needs more permissions)",
        )
    if err.status == 404:
        if code.startswith("NotFound_"):
            return ChildNotFoundError(err.path, err.status, code)
        if is_child:
            said = scrub(f"{code or 'no code'} {message}".strip())
            return NotEntitledError(
                err.path,
                err.status,
                f"endpoint not available (the 404 names no object: {said})",
            )
        if has_detail:
            return ChildNotFoundError(err.path, err.status, code)
        return NotEntitledError(err.path, err.status, message or "not available")
    return ApiResponseError(
        f"Fivetran refused the request: {code or 'error'} {scrub(message)}".rstrip(),
        path=err.path,
        status=err.status,
    )


# ----- the key check: GET /v1/account/info ----------------------------------------------------
ACCOUNT_PATH = "/v1/account/info"
REJECTED = (
    "Fivetran rejected the API key pair (401). Check settings api_key and api_secret "
    "(under Meltano: TAP_FIVETRAN_API_KEY, TAP_FIVETRAN_API_SECRET)"
)


def key_error(err: HttpStatusError) -> ApiResponseError:
    """The key check refused: 401 is a wrong key pair; anything else, Fivetran refused."""
    if err.status == 401:
        return CredentialsRejectedError(REJECTED)
    return ApiResponseError("Fivetran refused the account check", path=err.path, status=err.status)


def account_of(body: Any, status: int) -> dict[str, Any]:
    """The account object the key check answered."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict):
        raise ApiResponseError(
            "Fivetran answered without the expected 'data' object",
            path=ACCOUNT_PATH,
            status=status,
        )
    return data


class FivetranRun(Protocol):
    """What Fivetran's streams read of the tap (``TapFivetran`` is one): a protocol, so the
    streams depend on this module and never on the tap that declares them."""

    @property
    def settings(self) -> FivetranSettings:
        """The typed settings."""
        ...

    @property
    def client(self) -> ApiHttpClient:
        """The one HTTP client of the run."""
        ...

    def account_info(self) -> dict[str, Any]:
        """The account object from the key check."""
        ...
