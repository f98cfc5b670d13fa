"""Settings both taps share: their declaration (names, types, defaults: the JSON schema), the
checks that turn bad input into one clear line each, and the typed value a run reads them from.

A default is written once, in the schema (``th.Property(default=...)``): Meltano's Hub
definitions and ``--about`` show it from there, and ``CommonSettings.parse`` fills it in for a
setting that is not given. Nothing else in the taps names a default.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import urlsplit

from singer_sdk import typing as th


class SettingError(str):
    """One line naming a setting and what is wrong with it. ``setting`` says which, so that
    two checks of one setting (the tap's own and the JSON schema's) report it once."""

    setting: str

    def __new__(cls, setting: str, problem: str) -> SettingError:
        """``setting '<setting>' <problem>``."""
        line = super().__new__(cls, f"setting '{setting}' {problem}")
        line.setting = setting
        return line


PAGE_SIZE_MAX = 1000
HISTORY_WITHOUT_START_DATE = dt.timedelta(days=30)  # how far back when start_date is not set

# A number that may also arrive as text: Meltano 4.4 passes a `kind: decimal` setting set from
# an environment variable as a Decimal it then cannot write to JSON, so meltano.yml declares
# fractional settings as strings and the taps read "0.5" as 0.5 (range checked in
# common_errors, with one line naming the setting).
NUMBER_OR_TEXT = th.CustomType({"type": ["number", "string"]})
FRACTIONAL = {  # setting -> (lowest, exclusive?)
    "request_timeout": (0.0, True),
    "backoff_base_seconds": (0.0, False),
    "max_requests_per_second": (0.0, True),
    "audit_window_hours": (0.0, True),
}


def common_properties() -> list[th.Property[Any]]:
    """Settings every tap of this project has, with the same names and defaults."""
    return [
        th.Property(
            "start_date",
            th.DateTimeType,
            title="Start date",
            description="Earliest time for time-windowed streams (audit events, usage, sync "
            "history). ISO-8601 date or date-time. Default: 30 days ago.",
        ),
        th.Property(
            "page_size",
            th.IntegerType(minimum=1, maximum=PAGE_SIZE_MAX),
            default=PAGE_SIZE_MAX,
            title="Page size",
            description="Items per list page (1..1000). Lists whose items each need more "
            "requests (details, child streams) ask for at most 250, which saves memory and costs "
            "next to nothing.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType(minimum=1),
            default=8,
            title="Max concurrency",
            description="Requests in flight at once for the whole run, across streams "
            "(1 = one at a time). Records and state are the same at any value.",
        ),
        th.Property(
            "request_timeout",
            NUMBER_OR_TEXT,
            default=60,
            title="Request timeout (seconds)",
            description="Seconds to wait for one HTTP response before retrying.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType(minimum=0),
            default=8,
            title="Max retries",
            description="Retries per request on 429, 5xx, timeouts and dropped connections.",
        ),
        th.Property(
            "max_retry_wait_seconds",
            th.IntegerType(minimum=0),
            default=600,
            title="Max retry wait (seconds)",
            description="Longest total wait for one request's retries; a Retry-After longer "
            "than this ends the run with a clear error instead of waiting.",
        ),
        th.Property(
            "backoff_base_seconds",
            NUMBER_OR_TEXT,
            default=1.0,
            title="Backoff base (seconds)",
            description="First exponential backoff step for 5xx/timeouts (doubles each retry, "
            "capped at 60 s). A 429's own wait (header or body) takes precedence.",
        ),
        th.Property(
            "max_requests_per_second",
            NUMBER_OR_TEXT,
            title="Max requests per second",
            description="Optional client-side cap on the request rate for the whole API, on "
            "top of the endpoint limits the API documents.",
        ),
        th.Property(
            "redact_secrets",
            th.BooleanType,
            default=True,
            title="Redact secrets",
            description="Replace secret values (write keys, passwords, tokens in settings or "
            "config objects) with '**REDACTED**' before records leave the tap.",
        ),
        th.Property(
            "emit_activate_version_messages",
            th.BooleanType,
            default=False,
            title="Emit ACTIVATE_VERSION messages",
            description="Send ACTIVATE_VERSION after each full-table stream that completed for "
            "every workspace/account, so targets that support it (target-postgres) mark rows "
            "gone from the API as deleted. A failed or gated stream never sends it.",
        ),
        th.Property(
            "progress_interval_seconds",
            th.IntegerType(minimum=1),
            default=30,
            title="Progress log interval (seconds)",
            description="How often long runs log per-stream record and request counts.",
        ),
    ]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is this machine (the only place plain http is allowed)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_api_url(value: Any, setting: str) -> SettingError | None:
    """What is wrong with a base URL, or None. Plain http only to loopback."""
    if not isinstance(value, str) or not value.strip():
        return SettingError(setting, "is empty; give a URL such as https://host")
    parts = urlsplit(value)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        return SettingError(setting, f"must be an https:// URL (got scheme '{parts.scheme}')")
    if parts.scheme == "http" and not is_loopback(parts.hostname):
        return SettingError(
            setting,
            f"uses plain http:// to {parts.hostname}; credentials would travel in clear. Use "
            "https:// (http is allowed only for 127.0.0.1/localhost)",
        )
    return None


def parse_start_date(value: Any) -> dt.datetime | None:
    """Parse ``start_date``; raise ValueError with a friendly text."""
    if value in (None, ""):
        return None
    if isinstance(value, dt.datetime):
        parsed = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        try:
            parsed = dt.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(
                SettingError(
                    "start_date",
                    "is not a date: use ISO-8601 such as 2026-01-31 or 2026-01-31T00:00:00Z "
                    f"(got {str(value)[:40]!r})",
                )
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=dt.UTC)
    return parsed


def common_errors(config: Mapping[str, Any]) -> list[SettingError]:
    """Semantic checks on the shared settings (types are checked by the JSON schema)."""
    errors: list[SettingError] = []
    try:
        parse_start_date(config.get("start_date"))
    except ValueError as exc:
        [problem] = exc.args  # parse_start_date raises with the SettingError
        errors.append(problem)
    # A setting not given takes the schema's default, which is valid: only a given one (null
    # included, which the schema's nullable type would let through) is checked.
    page_size = config.get("page_size")
    if "page_size" in config and (
        not isinstance(page_size, int)
        or isinstance(page_size, bool)
        or not (1 <= page_size <= PAGE_SIZE_MAX)
    ):
        errors.append(
            SettingError("page_size", f"must be a whole number from 1 to {PAGE_SIZE_MAX}")
        )
    for name, (lowest, exclusive) in FRACTIONAL.items():
        if config.get(name) is None:
            continue
        try:
            value = float(config[name])
        except (TypeError, ValueError):
            errors.append(SettingError(name, "must be a number such as 0.5"))
            continue
        if value < lowest or (exclusive and value == lowest):
            bound = "more than" if exclusive else "at least"
            errors.append(SettingError(name, f"must be {bound} {lowest:g}"))
    conc = config.get("max_concurrency")
    if "max_concurrency" in config and (
        not isinstance(conc, int) or isinstance(conc, bool) or conc < 1
    ):
        errors.append(SettingError("max_concurrency", "must be a whole number of at least 1"))
    return errors


def missing_secret(config: Mapping[str, Any], name: str) -> str | None:
    """ "is missing" or "is empty" when a credential setting is absent or blank, else None."""
    value = config.get(name)
    if value is None:
        return "is missing"
    if not isinstance(value, str) or not value.strip():
        return "is empty"
    return None


# ----- the typed value a run reads ------------------------------------------------------------
class Given:
    """A config read through its JSON schema: a setting not given (or given as null, which
    Meltano never sends for a set one) has the schema's default. Read after validation, so
    each value converts."""

    def __init__(self, config: Mapping[str, Any], schema: Mapping[str, Any]) -> None:
        self._config = config
        self._defaults = {
            name: prop["default"]
            for name, prop in schema.get("properties", {}).items()
            if isinstance(prop, Mapping) and "default" in prop
        }

    def value(self, name: str) -> Any:
        """The setting as given, else its default, else None."""
        given = self._config.get(name)
        return self._defaults.get(name) if given is None else given

    def integer(self, name: str) -> int:
        """A whole number (the SDK may read it as a Decimal)."""
        return int(self.value(name))

    def number(self, name: str) -> float:
        """A number, which may arrive as text (``NUMBER_OR_TEXT``)."""
        return float(self.value(name))

    def optional_number(self, name: str) -> float | None:
        """A number, or None for an optional setting with no default."""
        value = self.value(name)
        return None if value is None else float(value)

    def flag(self, name: str) -> bool:
        """A boolean."""
        return bool(self.value(name))

    def text(self, name: str) -> str:
        """A string."""
        return str(self.value(name))


@dataclass(frozen=True)
class CommonSettings:
    """The shared settings of one run, typed and with their defaults, parsed once from the
    validated config. Credentials are not here: they stay in the config, so that printing
    this value can never show one."""

    start_date: dt.datetime | None
    page_size: int
    max_concurrency: int
    request_timeout: float
    max_retries: int
    max_retry_wait_seconds: float
    backoff_base_seconds: float
    max_requests_per_second: float | None
    redact_secrets: bool
    progress_interval_seconds: float

    @classmethod
    def parse(cls, config: Mapping[str, Any], schema: Mapping[str, Any]) -> Self:
        """The value of a validated config, defaults from ``schema`` (the tap's own)."""
        return cls(**cls.fields(Given(config, schema)))

    @classmethod
    def fields(cls, given: Given) -> dict[str, Any]:
        """Each field's value; a tap's subclass adds its own settings."""
        return {
            "start_date": parse_start_date(given.value("start_date")),
            "page_size": given.integer("page_size"),
            "max_concurrency": given.integer("max_concurrency"),
            "request_timeout": given.number("request_timeout"),
            "max_retries": given.integer("max_retries"),
            "max_retry_wait_seconds": given.number("max_retry_wait_seconds"),
            "backoff_base_seconds": given.number("backoff_base_seconds"),
            "max_requests_per_second": given.optional_number("max_requests_per_second"),
            "redact_secrets": given.flag("redact_secrets"),
            "progress_interval_seconds": given.number("progress_interval_seconds"),
        }

    def history_start(self) -> dt.datetime:
        """Where time-windowed streams start without a bookmark: ``start_date``, else 30 days
        before now (what the setting's description promises)."""
        return self.start_date or dt.datetime.now(dt.UTC) - HISTORY_WITHOUT_START_DATE
