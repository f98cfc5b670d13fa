"""The Singer SDK's own tap tests (discovery, stream connections, schemas vs records) for both
taps, with every stream selected, against the shared sandbox over real HTTP."""

from __future__ import annotations

from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tap_fivetran.tap import TapFivetran
from tap_segment.tap import TapSegment
from tests.conftest import fivetran_config, segment_config
from tests.tap_runner import select


def all_selected(tap_class: type, config: dict) -> dict:
    """The tap's own catalog with every stream selected (no network: discovery is static)."""
    return select(tap_class(config=config, validate_config=False).catalog_dict, "all")


FIVETRAN = fivetran_config(page_size=50, start_date="2026-11-15T00:00:00Z")
SEGMENT = segment_config(page_size=50, start_date="2026-10-01T00:00:00Z")

TestTapFivetran = get_tap_test_class(
    TapFivetran,
    config=FIVETRAN,
    catalog=all_selected(TapFivetran, FIVETRAN),
    suite_config=SuiteConfig(max_records_limit=50),
)

TestTapSegment = get_tap_test_class(
    TapSegment,
    config=SEGMENT,
    catalog=all_selected(TapSegment, SEGMENT),
    suite_config=SuiteConfig(max_records_limit=50),
)
