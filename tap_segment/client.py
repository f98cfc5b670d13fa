"""Segment's streams on the shared stream base: the hooks apply Segment's rules (tap_segment.api:
envelope, cursor, what a refusal means) and read the tap through ``api.SegmentRun``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, cast

from singer_sdk import SchemaDirectory, StreamSchema

from tap_segment import api
from tap_segment.endpoints import SEGMENT_ENDPOINTS
from taps_common.http_client import ApiHttpClient, HttpStatusError
from taps_common.resources import schema_root
from taps_common.streams import ApiStream
from taps_common.tap_base import ControlPlaneTap

SCHEMAS = SchemaDirectory(schema_root("tap_segment", "segment"))


class SegmentStream(ApiStream[ControlPlaneTap]):
    """A Segment endpoint: ``{"data": {"<key>": [...], "pagination": {"next": ...}}}``."""

    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS)
    endpoints = SEGMENT_ENDPOINTS
    child_context_fields: ClassVar[dict[str, str]] = {}
    object_key: ClassVar[str | None] = None  # single-object endpoints: key under data
    child_state_keys: ClassVar[tuple[str, ...]] = ("workspaceId",)  # one bookmark per workspace

    @property
    def segment(self) -> api.SegmentRun:
        """The tap's Segment side: workspaces, their clients, the typed settings. Typed by a
        protocol so that this module never imports the tap that declares its streams."""
        return cast(api.SegmentRun, self.cp_tap)

    @property
    def partitions(self) -> list[dict] | None:
        """Top-level streams run once per configured workspace."""
        if self.parent_stream_type is not None:
            return None
        return [{"workspaceId": ws} for ws in self.segment.workspace_ids()]

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        """The workspace: entitlement and failures belong to one workspace."""
        return str((context or {}).get("workspaceId") or "")

    def tenant_label(self, tenant: str) -> str:
        """`` for workspace X``."""
        return f" for workspace {tenant}" if tenant else ""

    def client_for(self, context: Mapping[str, Any] | None) -> ApiHttpClient:
        """The client of the workspace this context belongs to."""
        return self.segment.client_for(self.tenant(context))

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """``pagination.count`` / ``pagination.cursor`` (dot keys, as Segment documents)."""
        params: dict[str, Any] = {"pagination.count": self.page_limit}
        if cursor:
            params["pagination.cursor"] = cursor
        return params

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list, str | None]:
        """``data.<records_key>`` and ``data.pagination.next``."""
        data = api.data_of(body, path, status)
        items = api.list_in(data, self.records_key or "", path, status)
        return items, (api.next_cursor(data) if self.paginated else None)

    def extract_object(self, body: Any, path: str, status: int) -> dict:
        """``data.<object_key>`` (or ``data`` itself when the stream names no key)."""
        data = api.data_of(body, path, status)
        if not self.object_key:
            return dict(data)
        return api.object_in(data, self.object_key, path, status)

    def classify_error(self, err: HttpStatusError, *, is_child: bool) -> Exception:
        """Segment's meaning of a refusal (``api.status_error``), credentials scrubbed."""
        return api.status_error(err, is_child=is_child, scrub=self._scrub)

    def _scrub(self, text: str) -> str:
        clients = self.segment.clients_by_id()
        return next(iter(clients.values())).scrub(text) if clients else text

    def get_child_context(self, record: dict, context: Mapping[str, Any] | None) -> dict:
        """The workspace plus the parent's id, in Segment's camelCase."""
        ctx = {"workspaceId": (context or {}).get("workspaceId") or record.get("workspaceId")}
        ctx.update({key: record[field] for key, field in self.child_context_fields.items()})
        return ctx
