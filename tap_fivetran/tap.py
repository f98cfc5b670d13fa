"""TapFivetran: settings, the shared client and the credential check."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import cached_property
from typing import Any

from requests.auth import HTTPBasicAuth
from singer_sdk import typing as th

from tap_fivetran import api, streams
from tap_fivetran.endpoints import FIVETRAN_ENDPOINTS
from tap_fivetran.settings import FivetranSettings
from taps_common.http_client import Answer, ApiHttpClient, HttpStatusError
from taps_common.limiter import RateLimiter
from taps_common.settings import (
    SettingError,
    check_api_url,
    common_properties,
    missing_secret,
)
from taps_common.tap_base import ControlPlaneTap

DEFAULT_API_URL = "https://api.fivetran.com"


class TapFivetran(ControlPlaneTap):
    """Read-only Singer tap for the Fivetran REST API: access, data flows, keys; only GET."""

    name = "tap-fivetran"
    secret_settings = ("api_key", "api_secret")

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="Fivetran API key (scoped user key or system key).",
        ),
        th.Property(
            "api_secret",
            th.StringType,
            required=True,
            secret=True,
            title="API secret",
            description="Fivetran API secret belonging to api_key.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="API URL",
            description="API base URL without /v1. https only (http allowed for loopback "
            "test servers).",
        ),
        *common_properties(),
    ).to_dict()

    @cached_property
    def settings(self) -> FivetranSettings:
        """The settings, typed and with the schema's defaults (parsed once, after validation)."""
        return FivetranSettings.parse(self.config, self.config_jsonschema)

    def tap_errors(self, config: Mapping[str, Any]) -> list[SettingError]:
        """Credentials present, URL safe."""
        errors = [
            SettingError(
                name,
                f"{problem}: put it in the --config file, or export TAP_FIVETRAN_{name.upper()} "
                "and run with --config ENV (Meltano does that)",
            )
            for name in self.secret_settings
            if (problem := missing_secret(config, name))
        ]
        # Not given: the default, which is safe. Given (null included): checked.
        url_error = check_api_url(config["api_url"], "api_url") if "api_url" in config else None
        return errors + ([url_error] if url_error else [])

    def discover_streams(self) -> list:
        """Every stream of the contract, then the run manifest."""
        return self.with_manifest([stream_type(tap=self) for stream_type in streams.stream_types()])

    def tenant_ids(self) -> list[str]:
        """The account the key pair belongs to."""
        return [str(self.account_info().get("account_id") or "")]

    def api_base_url(self, tenant: str) -> str:
        """One API for the run's one account."""
        return self.client.base_url

    def data_shaping_settings(self) -> dict[str, Any]:
        """Plus the API host, as written (null when the default applies): the fingerprint of
        a run stays what it was."""
        return {**super().data_shaping_settings(), "api_url": self.config.get("api_url")}

    @cached_property
    def client(self) -> ApiHttpClient:
        """The one HTTP client of this run (shared by all workers)."""
        key, secret = self.config["api_key"], self.config["api_secret"]
        return ApiHttpClient(
            base_url=self.settings.api_url,
            auth=HTTPBasicAuth(key, secret),
            user_agent=self.user_agent,
            timeout=self.settings.request_timeout,
            policy=self.retry_policy,
            limiter=self.limiter,
            stats=self.stats,
            logger=self.logger,
            pool_size=self.settings.max_concurrency,
            secrets=(key, secret),
            request_slot=self.scheduler.request_slot,
        )

    def retry_wait(self, answer: Answer) -> float | None:
        """``Retry-After``."""
        return api.retry_after_seconds(answer)

    @cached_property
    def limiter(self) -> RateLimiter:
        """Fivetran's documented limits (20,000 requests an hour) and the optional cap."""
        return RateLimiter.for_api(FIVETRAN_ENDPOINTS, self.settings.max_requests_per_second)

    _account_lock = threading.Lock()

    def account_info(self) -> dict:
        """GET /v1/account/info once: proves the key pair and feeds the accounts stream."""
        with self._account_lock:
            cached = getattr(self, "_account", None)
            if cached is not None:
                return cached
            try:
                body, response = self.client.get_json(api.ACCOUNT_PATH, stream="accounts")
            except HttpStatusError as err:
                raise api.key_error(err) from None
            data = api.account_of(body, response.status_code)
            self._account = data
            self.client.tenant = str(data.get("account_id") or "")
            self.stats.assign_request("accounts", self.client.tenant)
            return data

    def check_credentials(self) -> str:
        """One request: the account the key pair belongs to."""
        info = self.account_info()
        who = "system key" if info.get("system_key_id") else "user key"
        return f"account {info.get('account_id')} ({info.get('account_name')}), {who}"

    def preflight(self) -> None:
        """Check the key pair first, so a wrong key is one clear line."""
        self.account_info()
