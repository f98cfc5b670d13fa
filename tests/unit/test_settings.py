"""The settings value: parsed once from a validated config, typed, with the defaults of the tap's
own schema (written nowhere else), frozen, and holding no credential."""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tap_fivetran.settings import FivetranSettings
from tap_fivetran.tap import TapFivetran
from tap_segment.settings import SegmentSettings
from tap_segment.tap import TapSegment
from taps_common.settings import HISTORY_WITHOUT_START_DATE, CommonSettings

ROOT = Path(__file__).resolve().parents[2]
TAPS = (
    (TapSegment, SegmentSettings, {"token": "t0ken-value"}),
    (TapFivetran, FivetranSettings, {"api_key": "k3y-value", "api_secret": "s3cret-value"}),
)


@pytest.mark.parametrize(("tap", "settings_type", "credentials"), TAPS, ids=["segment", "fivetran"])
def test_a_setting_not_given_has_the_schema_default(
    tap: Any, settings_type: type[CommonSettings], credentials: dict[str, str]
) -> None:
    settings = settings_type.parse(credentials, tap.config_jsonschema)
    properties = tap.config_jsonschema["properties"]
    fields = {f.name for f in dataclasses.fields(settings)}
    defaulted = {name for name, prop in properties.items() if "default" in prop}
    # Every defaulted setting a run reads is in the value (emit_activate_version_messages is
    # read by the SDK itself).
    assert defaulted - fields <= {"emit_activate_version_messages"}
    for name in fields & defaulted:
        assert getattr(settings, name) == properties[name]["default"], name
    assert settings.start_date is None and settings.max_requests_per_second is None


def test_given_values_are_typed() -> None:
    config = {
        "token": "t0ken-value",
        "start_date": "2026-01-31",
        "page_size": Decimal(250),  # the SDK may read JSON numbers as Decimal
        "request_timeout": "2.5",  # number-or-text settings arrive as text from Meltano
        "backoff_base_seconds": Decimal("0.25"),
        "max_requests_per_second": "0.5",
        "audit_window_hours": "0.5",
        "region": "eu",
        "redact_secrets": False,
    }
    settings = SegmentSettings.parse(config, TapSegment.config_jsonschema)
    assert settings.start_date == dt.datetime(2026, 1, 31, tzinfo=dt.UTC)
    assert settings.page_size == 250 and isinstance(settings.page_size, int)
    assert settings.request_timeout == 2.5
    assert settings.backoff_base_seconds == 0.25
    assert settings.max_requests_per_second == 0.5
    assert settings.audit_window_hours == 0.5
    assert settings.region == "eu"
    assert settings.redact_secrets is False


def test_null_is_not_given() -> None:
    schema = TapFivetran.config_jsonschema
    settings = FivetranSettings.parse({"request_timeout": None, "api_url": None}, schema)
    assert settings.request_timeout == schema["properties"]["request_timeout"]["default"]
    assert settings.api_url == schema["properties"]["api_url"]["default"]


def test_the_value_is_frozen_and_holds_no_credential() -> None:
    config = {"api_key": "k3y-value", "api_secret": "s3cret-value"}
    settings = FivetranSettings.parse(config, TapFivetran.config_jsonschema)
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.page_size = 1  # type: ignore[misc]
    assert "k3y-value" not in repr(settings) and "s3cret-value" not in repr(settings)


def test_history_starts_at_start_date_else_thirty_days_back() -> None:
    schema = TapSegment.config_jsonschema
    given = SegmentSettings.parse({"start_date": "2026-01-31T12:00:00Z"}, schema)
    assert given.history_start() == dt.datetime(2026, 1, 31, 12, tzinfo=dt.UTC)
    before = dt.datetime.now(dt.UTC)
    start = SegmentSettings.parse({}, schema).history_start()
    after = dt.datetime.now(dt.UTC)
    assert before - HISTORY_WITHOUT_START_DATE <= start <= after - HISTORY_WITHOUT_START_DATE


def defaults_read_from_config(package: str) -> list[str]:
    """Every ``<...>config.get(name, default)`` in a package: a default written a second time."""
    found = []
    for path in sorted((ROOT / package).glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "get"
                and ast.unparse(node.func.value).endswith("config")
                and len(node.args) + len(node.keywords) > 1
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {ast.unparse(node)}")
    return found


@pytest.mark.parametrize("package", ["taps_common", "tap_segment", "tap_fivetran"])
def test_no_default_is_written_outside_the_schema(package: str) -> None:
    assert defaults_read_from_config(package) == []
