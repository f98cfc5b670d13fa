"""Segment's envelope, cursor paginator and status rules, on the shared stream base."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from singer_sdk import SchemaDirectory, StreamSchema

from tap_segment.endpoints import SEGMENT_ENDPOINTS
from taps_common.errors import ApiResponseError, ChildNotFoundError, NotEntitledError
from taps_common.http_client import ApiHttpClient, HttpStatusError
from taps_common.resources import schema_root
from taps_common.streams import ApiStream

if TYPE_CHECKING:
    from tap_segment.tap import TapSegment  # noqa: F401 - named in the base class below


SCHEMAS = SchemaDirectory(schema_root("tap_segment", "segment"))


def first_error(body: Any) -> tuple[str, str]:
    """(type, message) of the first entry of a Segment error envelope."""
    if isinstance(body, dict) and isinstance(body.get("errors"), list) and body["errors"]:
        err = body["errors"][0]
        if isinstance(err, dict):
            return str(err.get("type") or ""), str(err.get("message") or "")[:200]
    return "", ""


class SegmentStream(ApiStream["TapSegment"]):
    """A Segment endpoint: ``{"data": {"<key>": [...], "pagination": {"next": ...}}}``."""

    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS)
    endpoints = SEGMENT_ENDPOINTS
    child_context_fields: ClassVar[dict[str, str]] = {}
    object_key: ClassVar[str | None] = None  # single-object endpoints: key under data
    child_state_keys: ClassVar[tuple[str, ...]] = ("workspaceId",)  # one bookmark per workspace

    @property
    def partitions(self) -> list[dict] | None:
        """Top-level streams run once per configured workspace."""
        if self.parent_stream_type is not None:
            return None
        return [{"workspaceId": ws} for ws in self.cp_tap.workspace_ids()]

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        """The workspace: entitlement and failures belong to one workspace."""
        return str((context or {}).get("workspaceId") or "")

    def tenant_label(self, tenant: str) -> str:
        """`` for workspace X``."""
        return f" for workspace {tenant}" if tenant else ""

    def client_for(self, context: Mapping[str, Any] | None) -> ApiHttpClient:
        """The client of the workspace this context belongs to."""
        return self.cp_tap.client_for(self.tenant(context))

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """``pagination.count`` / ``pagination.cursor`` (dot keys, as Segment documents)."""
        params: dict[str, Any] = {"pagination.count": self.page_limit}
        if cursor:
            params["pagination.cursor"] = cursor
        return params

    def _data(self, body: Any, path: str, status: int) -> dict:
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            kind, message = first_error(body)
            detail = f": {kind} {message}".rstrip() if kind or message else ""
            raise ApiResponseError(
                f"Segment answered without the expected 'data' object{detail}",
                path=path,
                status=status,
            )
        return body["data"]

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list, str | None]:
        """``data.<records_key>`` and ``data.pagination.next``."""
        data = self._data(body, path, status)
        items = data.get(self.records_key or "")
        if not isinstance(items, list):
            raise ApiResponseError(
                f"Segment answered without the expected 'data.{self.records_key}' list",
                path=path,
                status=status,
            )
        pagination = data.get("pagination") if self.paginated else None
        cursor = pagination.get("next") if isinstance(pagination, dict) else None
        return items, (str(cursor) if cursor else None)

    def extract_object(self, body: Any, path: str, status: int) -> dict:
        """``data.<object_key>`` (or ``data`` itself when the stream names no key)."""
        data = self._data(body, path, status)
        if not self.object_key:
            return dict(data)
        obj = data.get(self.object_key)
        if not isinstance(obj, dict):
            raise ApiResponseError(
                f"Segment answered without the expected 'data.{self.object_key}' object",
                path=path,
                status=status,
            )
        return obj

    def classify_error(self, err: HttpStatusError, *, is_child: bool) -> Exception:
        """401/403: the token's role or plan does not allow it; 404: gone or feature off."""
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
        client = self.cp_tap.clients_by_id()
        scrubbed = next(iter(client.values())).scrub(message) if client else message
        return ApiResponseError(
            f"Segment refused the request: {kind or 'error'} {scrubbed}".rstrip(),
            path=err.path,
            status=err.status,
        )

    def get_child_context(self, record: dict, context: Mapping[str, Any] | None) -> dict:
        """The workspace plus the parent's id, in Segment's camelCase."""
        ctx = {"workspaceId": (context or {}).get("workspaceId") or record.get("workspaceId")}
        ctx.update({key: record[field] for key, field in self.child_context_fields.items()})
        return ctx
