"""Fivetran's envelope, cursor paginator and status rules, on the shared stream base."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import SchemaDirectory, StreamSchema

from tap_fivetran.endpoints import FIVETRAN_ENDPOINTS
from tap_fivetran.secret_fields import PASSWORD_FIELDS
from taps_common.errors import ApiResponseError, ChildNotFoundError, NotEntitledError
from taps_common.http_client import ApiHttpClient, HttpStatusError
from taps_common.resources import schema_root
from taps_common.streams import ApiStream

if TYPE_CHECKING:
    from tap_fivetran.tap import TapFivetran  # noqa: F401 - named in the base class below


SCHEMAS = SchemaDirectory(schema_root("tap_fivetran", "fivetran"))
ACCEPT_V2 = "application/json;version=2"


def error_fields(body: Any) -> tuple[str, str]:
    """(code, message) of a Fivetran error envelope, empty strings when absent."""
    if isinstance(body, dict):
        return str(body.get("code") or ""), str(body.get("message") or "")[:200]
    return "", ""


class FivetranStream(ApiStream["TapFivetran"]):
    """A Fivetran endpoint: ``{"code": "Success", "data": {"items": [...], "next_cursor"}}``."""

    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS)
    endpoints = FIVETRAN_ENDPOINTS
    child_context_fields: ClassVar[dict[str, str]] = {}
    rename_fields: ClassVar[dict[str, str]] = {}

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        """The account (one per run): its id once the key pair is checked."""
        return self.cp_tap.client.tenant

    def client_for(self, context: Mapping[str, Any] | None) -> ApiHttpClient:
        """One client per run."""
        return self.cp_tap.client

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """``limit`` + opaque ``cursor``."""
        return {"limit": self.page_limit, "cursor": cursor}

    def _data(self, body: Any, path: str, status: int) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            code, message = error_fields(body)
            detail = f": {code} {message}".rstrip() if code else ""
            raise ApiResponseError(
                f"Fivetran answered without the expected 'data' object{detail}",
                path=path,
                status=status,
            )
        return body["data"]

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list, str | None]:
        """``data.items`` and ``data.next_cursor``."""
        data = self._data(body, path, status)
        items = data.get("items")
        if not isinstance(items, list):
            raise ApiResponseError(
                "Fivetran answered without the expected 'data.items' list", path=path, status=status
            )
        cursor = data.get("next_cursor")
        return items, (str(cursor) if cursor else None)

    def extract_object(self, body: Any, path: str, status: int) -> dict:
        """``data`` itself."""
        return self._data(body, path, status)

    def classify_error(self, err: HttpStatusError, *, is_child: bool) -> Exception:
        """401/403: not allowed for this key; 404: deleted child or feature off.

        Fivetran names the object it cannot find (``NotFound_Connector``,
        ``NotFound_SchemaConfig``: "Cannot find entity 'Connector' with id ..."); a 404 on a
        child endpoint that names none (plain ``NotFound``, or no envelope) is about the
        endpoint, not one parent, so the stream is skipped for the account at once.
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
                said = self.cp_tap.client.scrub(f"{code or 'no code'} {message}".strip())
                return NotEntitledError(
                    err.path,
                    err.status,
                    f"endpoint not available (the 404 names no object: {said})",
                )
            if self.detail_path:
                return ChildNotFoundError(err.path, err.status, code)
            return NotEntitledError(err.path, err.status, message or "not available")
        scrubbed = self.cp_tap.client.scrub(message)
        return ApiResponseError(
            f"Fivetran refused the request: {code or 'error'} {scrubbed}".rstrip(),
            path=err.path,
            status=err.status,
        )

    def get_child_context(self, record: dict, context: Mapping[str, Any] | None) -> dict:
        """Parent ids for children, named in Fivetran's snake_case."""
        ctx = dict(context or {})
        ctx.update({key: record[field] for key, field in self.child_context_fields.items()})
        return ctx

    def make_records(
        self, item: Any, context: Mapping[str, Any] | None, plan: Mapping[str, Any]
    ) -> list[dict]:
        """Membership items name the other side ``id``: the record names it for what it is."""
        [record] = super().make_records(item, context, plan)
        for old, new in self.rename_fields.items():
            if old in record:
                record[new] = record.pop(old)
        return [record]

    def extra_secret_keys(self) -> Iterable[str]:
        """Config fields the spec marks ``format: password``."""
        return PASSWORD_FIELDS
