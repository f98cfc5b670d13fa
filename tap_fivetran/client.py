"""Fivetran's streams on the shared stream base: the hooks apply Fivetran's rules
(tap_fivetran.api: envelope, cursor, what a refusal means) and read the tap through
``api.FivetranRun``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, cast

from singer_sdk import SchemaDirectory, StreamSchema

from tap_fivetran import api
from tap_fivetran.endpoints import FIVETRAN_ENDPOINTS
from tap_fivetran.secret_fields import PASSWORD_FIELDS
from taps_common.http_client import ApiHttpClient, HttpStatusError
from taps_common.resources import schema_root
from taps_common.streams import ApiStream
from taps_common.tap_base import ControlPlaneTap

SCHEMAS = SchemaDirectory(schema_root("tap_fivetran", "fivetran"))
ACCEPT_V2 = "application/json;version=2"


class FivetranStream(ApiStream[ControlPlaneTap]):
    """A Fivetran endpoint: ``{"code": "Success", "data": {"items": [...], "next_cursor"}}``."""

    schema: ClassVar[StreamSchema] = StreamSchema(SCHEMAS)
    endpoints = FIVETRAN_ENDPOINTS
    child_context_fields: ClassVar[dict[str, str]] = {}
    rename_fields: ClassVar[dict[str, str]] = {}

    @property
    def fivetran(self) -> api.FivetranRun:
        """The tap's Fivetran side: the client, the account, the typed settings. Typed by a
        protocol so that this module never imports the tap that declares its streams."""
        return cast(api.FivetranRun, self.cp_tap)

    def tenant(self, context: Mapping[str, Any] | None) -> str:
        """The account (one per run): its id once the key pair is checked."""
        return self.fivetran.client.tenant

    def client_for(self, context: Mapping[str, Any] | None) -> ApiHttpClient:
        """One client per run."""
        return self.fivetran.client

    def page_params(self, cursor: str | None) -> dict[str, Any]:
        """``limit`` + opaque ``cursor``."""
        return {"limit": self.page_limit, "cursor": cursor}

    def extract_page(self, body: Any, path: str, status: int) -> tuple[list, str | None]:
        """``data.items`` and ``data.next_cursor``."""
        return api.page_of(body, path, status)

    def extract_object(self, body: Any, path: str, status: int) -> dict:
        """``data`` itself."""
        return api.data_of(body, path, status)

    def classify_error(self, err: HttpStatusError, *, is_child: bool) -> Exception:
        """Fivetran's meaning of a refusal (``api.status_error``), credentials scrubbed."""
        return api.status_error(
            err,
            is_child=is_child,
            has_detail=bool(self.detail_path),
            scrub=self.fivetran.client.scrub,
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
