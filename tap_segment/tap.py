"""TapSegment: settings, one client per workspace, and the token check."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from singer_sdk import typing as th
from singer_sdk.authenticators import BearerTokenAuthenticator

from tap_segment import api, streams
from tap_segment.endpoints import SEGMENT_ENDPOINTS
from tap_segment.settings import SegmentSettings
from taps_common.http_client import Answer, ApiHttpClient, HttpStatusError
from taps_common.limiter import RateLimiter
from taps_common.settings import (
    NUMBER_OR_TEXT,
    SettingError,
    check_api_url,
    common_properties,
)
from taps_common.tap_base import ControlPlaneTap

REGION_URLS = {"us": "https://api.segmentapis.com", "eu": "https://eu1.api.segmentapis.com"}


@dataclass(frozen=True)
class WorkspaceConnection:
    """Where one workspace's API lives and the token that reads it (never logged)."""

    label: str  # "token" or "workspaces[2]": names the setting to fix
    base_url: str
    token: str
    region: str | None


class TapSegment(ControlPlaneTap):
    """Read-only Singer tap for the Segment Public API: access, data flows, audit; only GET."""

    name = "tap-segment"
    secret_settings = ("token",)
    # Either is enough (tap_errors checks the same): Meltano's settings_group_validation, which
    # scripts/generate_hub_plugins.py writes from here (a tap without it: its required settings).
    settings_groups = (("token",), ("workspaces",))

    config_jsonschema = th.PropertiesList(
        th.Property(
            "token",
            th.StringType,
            secret=True,
            title="API token",
            description="Segment Public API token of one workspace (Settings > Access "
            "Management > Tokens). Required unless 'workspaces' is set.",
        ),
        th.Property(
            "region",
            th.StringType,
            default="us",
            allowed_values=["us", "eu"],
            title="Region",
            description="Workspace region: 'us' (api.segmentapis.com) or 'eu' "
            "(eu1.api.segmentapis.com). A token works only in its own region.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API URL",
            description="API base URL; overrides 'region'. https only (http allowed for "
            "loopback test servers).",
        ),
        th.Property(
            "workspaces",
            th.ArrayType(
                th.ObjectType(
                    th.Property("token", th.StringType, secret=True, required=True),
                    th.Property("region", th.StringType, allowed_values=["us", "eu"]),
                    th.Property("api_url", th.StringType),
                )
            ),
            title="Workspaces",
            description="Several workspaces in one run: a list of {token, region or api_url}. "
            "Records carry their workspaceId; state is kept per workspace.",
        ),
        th.Property(
            "audit_lookback_minutes",
            th.IntegerType(minimum=0),
            default=5,
            title="Audit lookback (minutes)",
            description="audit_events re-reads this many minutes before the bookmark, for "
            "events that land late; duplicates stay within this window.",
        ),
        th.Property(
            "audit_window_hours",
            NUMBER_OR_TEXT,
            default=24,
            title="Audit window (hours)",
            description="Longest time window audit_events reads at once, oldest first; where "
            "events are dense, windows shrink to hold about one page each.",
        ),
        *common_properties(),
    ).to_dict()

    # ----- settings --------------------------------------------------------------------------
    @cached_property
    def settings(self) -> SegmentSettings:
        """The settings, typed and with the schema's defaults (parsed once, after validation)."""
        return SegmentSettings.parse(self.config, self.config_jsonschema)

    def tap_errors(self, config: Mapping[str, Any]) -> list[SettingError]:
        """A token (or workspaces), a known region, safe URLs."""
        errors: list[SettingError] = []
        entries = config.get("workspaces")
        token = config.get("token")
        if entries in (None, []) and (not isinstance(token, str) or not token.strip()):
            errors.append(
                SettingError(
                    "token",
                    ("is missing" if token is None else "is empty")
                    + ": put it in the --config file, or export TAP_SEGMENT_TOKEN and run with "
                    "--config ENV (Meltano does that); or list several in 'workspaces'",
                )
            )
        errors += self._url_errors(config, "")
        if isinstance(entries, list):
            for i, entry in enumerate(entries):
                label = f"workspaces[{i}]"
                if not isinstance(entry, dict):
                    errors.append(SettingError(label, "must be an object {token, region}"))
                    continue
                tok = entry.get("token")
                if not isinstance(tok, str) or not tok.strip():
                    errors.append(SettingError(f"{label}.token", "is missing or empty"))
                errors += self._url_errors(entry, f"{label}.")
        return errors

    @staticmethod
    def _url_errors(config: Mapping[str, Any], prefix: str) -> list[SettingError]:
        region = config.get("region")
        if region is not None and region not in REGION_URLS:
            return [
                SettingError(f"{prefix}region", f"must be 'us' or 'eu' (got {str(region)[:20]!r})")
            ]
        if config.get("api_url") is not None:
            problem = check_api_url(config["api_url"], f"{prefix}api_url")
            return [problem] if problem else []
        return []

    def connections(self) -> list[WorkspaceConnection]:
        """Every configured workspace, the top-level token first."""
        found: list[WorkspaceConnection] = []
        default_region = self.settings.region
        if self.config.get("token"):
            found.append(self._connection("token", self.config, default_region))
        for i, entry in enumerate(self.config.get("workspaces") or []):
            found.append(self._connection(f"workspaces[{i}]", entry, default_region))
        return found

    @staticmethod
    def _connection(
        label: str, entry: Mapping[str, Any], default_region: str
    ) -> WorkspaceConnection:
        if entry.get("api_url"):
            return WorkspaceConnection(label, entry["api_url"], entry["token"], None)
        region = entry.get("region") or default_region
        return WorkspaceConnection(label, REGION_URLS[region], entry["token"], region)

    # ----- clients and workspace resolution --------------------------------------------------
    _resolve_lock = threading.Lock()

    def _client(self, conn: WorkspaceConnection) -> ApiHttpClient:
        prefix = "" if conn.label == "token" else f"{conn.label}."
        return ApiHttpClient(
            base_url=conn.base_url,
            auth=BearerTokenAuthenticator(token=conn.token),
            user_agent=self.user_agent,
            timeout=self.settings.request_timeout,
            policy=self.retry_policy,
            limiter=self._limiter_for(conn.base_url),
            stats=self.stats,
            logger=self.logger,
            pool_size=self.settings.max_concurrency,
            secrets=tuple(c.token for c in self.connections()),
            url_settings=f"'{prefix}region' or '{prefix}api_url'",
            request_slot=self.scheduler.request_slot,
        )

    def retry_wait(self, answer: Answer) -> float | None:
        """``msBeforeNext`` in the body, else ``X-RateLimit-Reset``."""
        return api.segment_retry_wait(answer)

    def _limiter_for(self, base_url: str) -> RateLimiter:
        limiters = self.__dict__.setdefault("_limiters", {})
        if base_url not in limiters:
            limiters[base_url] = RateLimiter.for_api(
                SEGMENT_ENDPOINTS, self.settings.max_requests_per_second
            )
        return limiters[base_url]

    def _resolve(self) -> dict[str, tuple[ApiHttpClient, dict]]:
        """GET / per workspace once: proves each token and names its workspace."""
        with self._resolve_lock:
            resolved = self.__dict__.get("_resolved")
            if resolved is not None:
                return resolved
            resolved = {}
            for conn in self.connections():
                client = self._client(conn)
                workspace = self._get_workspace(client, conn)
                client.tenant = str(workspace["id"])
                self.stats.assign_request("workspaces", client.tenant)
                resolved[str(workspace["id"])] = (client, workspace)
            self._resolved = resolved
            return resolved

    def _get_workspace(self, client: ApiHttpClient, conn: WorkspaceConnection) -> dict:
        try:
            body, response = client.get_json("/", stream="workspaces")
        except HttpStatusError as err:
            where = f"'region' ({conn.region})" if conn.region else f"'api_url' ({conn.base_url})"
            raise api.token_error(err, conn.label, where) from None
        return api.workspace_of(body, response.status_code)

    def workspace_ids(self) -> list[str]:
        """Ids of every configured workspace, in configuration order."""
        return list(self._resolve())

    def workspace_record(self, workspace_id: str) -> dict:
        """The workspace object from the token check."""
        return self._resolve()[workspace_id][1]

    def client_for(self, workspace_id: str) -> ApiHttpClient:
        """The client holding this workspace's token."""
        return self._resolve()[workspace_id][0]

    def clients_by_id(self) -> dict[str, ApiHttpClient]:
        """Every workspace's client (for scrubbing messages)."""
        return {k: v[0] for k, v in self.__dict__.get("_resolved", {}).items()}

    def preflight(self) -> None:
        """Check every token before any stream runs."""
        self._resolve()

    def check_credentials(self) -> str:
        """One request per workspace."""
        names = [f"{w['id']} ({w.get('slug', '')})" for _, w in self._resolve().values()]
        return "workspaces " + ", ".join(names)

    def discover_streams(self) -> list:
        """Every stream of the contract, then the run manifest."""
        return self.with_manifest([stream_type(tap=self) for stream_type in streams.stream_types()])

    def tenant_ids(self) -> list[str]:
        """The configured workspaces."""
        return self.workspace_ids()

    def api_base_url(self, tenant: str) -> str:
        """The workspace's region (or api_url)."""
        return self.client_for(tenant).base_url

    def data_shaping_settings(self) -> dict[str, Any]:
        """Plus where each workspace lives and the audit window settings."""
        return {
            **super().data_shaping_settings(),
            "api_urls": [c.base_url for c in self.connections()],
            "audit_lookback_minutes": self.settings.audit_lookback_minutes,
        }
